/** The ETSI routes as a metric label: a closed list, so a path (with its SAE IDs) is never a label value. */
export const ETSI_ROUTES = ['status', 'enc_keys', 'dec_keys', 'openapi', 'other'] as const;
export type EtsiRoute = (typeof ETSI_ROUTES)[number];

export function etsiRoute(pathname: string): EtsiRoute {
  if (pathname === '/api/v1/openapi.json') return 'openapi';
  const match = /^\/api\/v1\/keys\/[^/]+\/(status|enc_keys|dec_keys)$/.exec(pathname);
  return match ? (match[1] as EtsiRoute) : 'other';
}
