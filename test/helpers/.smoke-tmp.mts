import { startIdp } from './idp.js';
for (const mode of ['oidc','aad'] as const) {
  const t0 = Date.now();
  const idp = await startIdp({ mode });
  console.log(mode, Date.now()-t0, 'ms', idp.issuer, idp.authority);
  console.log(JSON.stringify(idp.discovery).slice(0, 600));
  await idp.close();
}
