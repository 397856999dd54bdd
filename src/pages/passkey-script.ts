import { createHash } from 'node:crypto';

/**
 * The one script of the sign-in pages: runs the WebAuthn ceremony whose options the page carries
 * (`<script type="application/json" id="passkey-options">`), then posts the authenticator's
 * response in the page's passkey form. On the login page it also offers passkeys in the username
 * field's autofill (conditional mediation, WebAuthn L3 §5.1.4.1). It is sent inline and allowed by
 * its hash in the Content-Security-Policy, like the stylesheet: no script from anywhere else runs.
 */
export const PASSKEY_SCRIPT = `
(function () {
  var data = document.getElementById('passkey-options');
  var form = document.getElementById('passkey-form');
  var button = document.getElementById('passkey-button');
  if (!data || !form || !window.PublicKeyCredential) { if (button) button.hidden = true; return; }
  var options = JSON.parse(data.textContent);
  var toBytes = function (s) {
    var b = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4));
    var out = new Uint8Array(b.length);
    for (var i = 0; i < b.length; i++) out[i] = b.charCodeAt(i);
    return out.buffer;
  };
  var toText = function (buf) {
    if (!buf) return undefined;
    var bytes = new Uint8Array(buf), s = '';
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
  };
  var keyOptions = function () {
    var o = JSON.parse(JSON.stringify(options.publicKey));
    o.challenge = toBytes(o.challenge);
    if (o.user) o.user.id = toBytes(o.user.id);
    ['allowCredentials', 'excludeCredentials'].forEach(function (k) {
      if (o[k]) o[k] = o[k].map(function (c) { return { type: c.type, id: toBytes(c.id), transports: c.transports }; });
    });
    return o;
  };
  var send = function (cred) {
    var r = cred.response;
    form.elements.response.value = JSON.stringify({
      id: cred.id, rawId: toText(cred.rawId), type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      clientExtensionResults: cred.getClientExtensionResults(),
      response: {
        clientDataJSON: toText(r.clientDataJSON),
        attestationObject: toText(r.attestationObject),
        authenticatorData: toText(r.authenticatorData),
        signature: toText(r.signature),
        userHandle: toText(r.userHandle),
        transports: r.getTransports ? r.getTransports() : undefined
      }
    });
    form.submit();
  };
  var pending = null;
  var run = function (mediation) {
    if (pending) pending.abort();
    pending = new AbortController();
    var request = options.mode === 'register'
      ? navigator.credentials.create({ publicKey: keyOptions() })
      : navigator.credentials.get({ publicKey: keyOptions(), mediation: mediation, signal: pending.signal });
    request.then(function (cred) { if (cred) send(cred); }).catch(function (e) {
      // A cancelled or failed ceremony the user started is said in the page's language (the form's data-failed).
      if (mediation === 'conditional' || (e && e.name === 'AbortError')) return;
      var status = document.getElementById('passkey-status');
      if (status) status.textContent = form.getAttribute('data-failed') || '';
    });
  };
  if (button) button.addEventListener('click', function () { run('optional'); });
  if (options.conditional && PublicKeyCredential.isConditionalMediationAvailable) {
    PublicKeyCredential.isConditionalMediationAvailable().then(function (ok) { if (ok) run('conditional'); });
  }
})();
`;

/** CSP Level 2 hash source of the script: the digest of the exact text between <script> and </script>. */
export const PASSKEY_SCRIPT_HASH = createHash('sha256').update(PASSKEY_SCRIPT, 'utf8').digest('base64');
