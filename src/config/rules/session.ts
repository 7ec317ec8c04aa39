// Cross-field rules for the session cookie and the public URL it belongs to.
import type { Config } from '../schema.js';

export function sessionRules(c: Config): string[] {
  const problems: string[] = [];
  if (!c.session.keys)
    problems.push('session.keys: is required (or session.keysFile); generate with `authward keygen`');
  return problems;
}

export function publicUrlRules(c: Config): string[] {
  const problems: string[] = [];

  const publicUrl = new URL(c.publicUrl);
  if (publicUrl.pathname !== '/' || publicUrl.search || publicUrl.hash) {
    problems.push(
      `publicUrl: must be an origin only (scheme, host, port), got ${JSON.stringify(c.publicUrl)}`,
    );
  }

  return problems;
}
