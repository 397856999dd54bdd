import type { FastifyInstance } from 'fastify';
import type { PageSettingsStore } from '../../domain/page-settings.ts';
import { GATEHOUSE_ROUTES } from '../../oauth/endpoints.ts';
import type { EnvironmentResolver } from '../../oauth/environments.ts';

export interface BrandingLogoRoutesOptions {
  environments: EnvironmentResolver;
  logos: Pick<PageSettingsStore, 'getLogo'>;
}

/**
 * Each environment's logo, as its pages load it. The type is the one checked from the bytes at
 * upload, never sniffed by the browser (`nosniff`). An SVG opened on its own gets a policy that
 * runs no script and loads nothing (`sandbox`, `default-src 'none'`), so even a logo that slipped
 * past the upload checks cannot act with this origin. The URL names the version (`?v=`), so the
 * image may be cached; an old version is simply never asked for again.
 */
export async function brandingLogoRoutes(app: FastifyInstance, options: BrandingLogoRoutesOptions): Promise<void> {
  app.get<{ Params: { env: string } }>(GATEHOUSE_ROUTES.brandingLogo.path, async (request, reply) => {
    const resolved = await options.environments.resolve(request.params.env);
    const logo = await options.logos.getLogo(resolved.env.id);
    reply.headers({
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; sandbox",
      'Cross-Origin-Resource-Policy': 'same-origin',
    });
    if (!logo) return reply.status(404).header('cache-control', 'no-store').type('text/plain; charset=utf-8').send('no logo');
    return reply
      .status(200)
      .headers({ 'Content-Type': logo.contentType, 'Cache-Control': 'public, max-age=86400', ETag: `"${logo.sha256.slice(0, 32)}"` })
      .send(Buffer.from(logo.bytes));
  });
}
