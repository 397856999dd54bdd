import assert from 'node:assert/strict';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { ADMIN_API_IDENTIFIER } from '../../src/admin-api/auth.ts';
import { bootstrapAdmin } from '../../src/admin-api/bootstrap.ts';
import { type AdminServices, createAdminServices } from '../../src/server/admin.ts';
import { basic, form, type TestApp } from '../helpers/fixtures.ts';

export const MANAGEMENT = 'gatehouse-admin';

type Operation = { responses: Record<string, { content?: Record<string, { schema: object }> }> };
export type AdminDoc = { openapi: string; paths: Record<string, Record<string, Operation>> };

/** Checks real responses against the admin OpenAPI document: path, method, status, media type and body schema. */
export class Contract {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly templates: { path: string; pattern: RegExp }[];
  checked = 0;

  constructor(readonly doc: AdminDoc) {
    addFormats.default(this.ajv);
    this.templates = Object.keys(doc.paths).map((path) => ({
      path,
      pattern: new RegExp(`^${path.replace(/\{[a-z_]+\}/g, '[^/]+')}$`),
    }));
  }

  conforms(res: LightMyRequestResponse): void {
    const { method } = res.raw.req;
    const url = String(res.raw.req.url).split('?')[0] ?? '';
    const matches = this.templates.filter((t) => t.pattern.test(url));
    // A literal segment (…/rotate) wins over a parameter at the same place.
    const template = matches.sort((a, b) => b.path.split('{').length - a.path.split('{').length).at(-1);
    assert.ok(template, `${method} ${url} is in the document`);
    const operation = this.doc.paths[template.path]?.[String(method).toLowerCase()];
    assert.ok(operation, `${method} ${template.path} is in the document`);
    const response = operation.responses[String(res.statusCode)];
    assert.ok(response, `${method} ${template.path} documents status ${res.statusCode} (${res.body})`);
    const media = String(res.headers['content-type'] ?? '').split(';')[0] ?? '';
    const schema = response.content?.[media]?.schema;
    assert.ok(schema, `${method} ${template.path} ${res.statusCode} documents ${media}`);
    const validate = this.ajv.compile(schema);
    assert.ok(validate(res.json()), `${method} ${template.path} ${res.statusCode}: ${this.ajv.errorsText(validate.errors)} in ${res.body}`);
    this.checked++;
  }
}

/** An admin API fixture: the app's admin server, bootstrap credentials, tokens from the real token endpoint. */
export interface AdminFixture {
  admin: FastifyInstance;
  services: AdminServices;
  clientId: string;
  clientSecret: string;
  token(clientId: string, secret: string): Promise<string>;
  /** A client of the management environment allowed on the admin API with `scopes` (added to the API's scopes). */
  adminClient(scopes: string[]): Promise<{ clientId: string; secret: string; token: string }>;
}

export async function setUpAdmin(t: TestApp): Promise<AdminFixture> {
  const admin = t.app.adminServer;
  assert.ok(admin, 'the admin API is built when GATEHOUSE_ADMIN_PORT is set');
  const services = createAdminServices(t.config, t.store, t.clock, t.app.core);
  const boot = await bootstrapAdmin(services, MANAGEMENT);
  const token = async (clientId: string, secret: string) => {
    const res = await t.app.server.inject({
      method: 'POST',
      url: `/envs/${MANAGEMENT}/token`,
      headers: { authorization: basic(clientId, secret), 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({ grant_type: 'client_credentials' }),
    });
    assert.equal(res.statusCode, 200, res.body);
    return String(res.json().access_token);
  };
  const adminClient = async (scopes: string[]) => {
    const api = await services.apis.show(MANAGEMENT, ADMIN_API_IDENTIFIER);
    const known = new Set(api.scopes.map((s) => s.name));
    const added = scopes.filter((s) => !known.has(s)).map((name) => ({ name, description: name }));
    if (added.length) await services.apis.update(MANAGEMENT, ADMIN_API_IDENTIFIER, { scopes: [...api.scopes, ...added] });
    const client = await services.admin.createClient({ env: MANAGEMENT, name: `admin ${scopes.join(' ')}`, scopes });
    await services.apis.allowClients(MANAGEMENT, ADMIN_API_IDENTIFIER, [client.client_id]);
    const secret = String(client.client_secret);
    return { clientId: client.client_id, secret, token: await token(client.client_id, secret) };
  };
  return { admin, services, clientId: boot.client_id, clientSecret: boot.client_secret, token, adminClient };
}
