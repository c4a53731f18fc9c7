/**
 * The admin dashboard: static files (page, style, script, and the uPlot charting library from node_modules) served
 * by the API server itself, with a content security policy that lets the page load nothing from anywhere else (no
 * CDN, no inline script).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Router from '@koa/router';
import type { Context } from 'koa';

export const DASHBOARD = '/_oarcloud/admin';
/** The files live in the source tree (tsc compiles only TypeScript): from dist/src/admin back to src/admin. */
const DASHBOARD_DIR = path.join(__dirname, '..', '..', '..', 'src', 'admin', 'dashboard');
const FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'dashboard.css': 'text/css; charset=utf-8',
  'dashboard.js': 'text/javascript; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};
const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-cache',
};

/** The charting library, as its package ships it. */
const VENDOR: Record<string, [string, string]> = {
  'uPlot.iife.min.js': ['uplot/dist/uPlot.iife.min.js', 'text/javascript; charset=utf-8'],
  'uPlot.min.css': ['uplot/dist/uPlot.min.css', 'text/css; charset=utf-8'],
};

export function dashboard(): Router {
  const files = new Map(Object.entries(FILES).map(([name, type]) => [name, { type, body: readFileSync(path.join(DASHBOARD_DIR, name)) }]));
  for (const [name, [module, type]] of Object.entries(VENDOR)) files.set(name, { type, body: readFileSync(require.resolve(module)) });
  const router = new Router({ prefix: DASHBOARD });
  const serve = (name: string) => (ctx: Context) => {
    const file = files.get(name)!;
    ctx.set(SECURITY_HEADERS);
    ctx.type = file.type;
    ctx.body = file.body;
  };
  router.get('/', serve('index.html'));
  for (const name of files.keys()) router.get(`/${name}`, serve(name));
  return router;
}
