// Path prefixes in canonical form, shared by the config rules, the derived view and the route table.

/** `p` without trailing slashes ("/.auth/" → "/.auth", "/" → ""). */
export const trimSlash = (p: string) => p.replace(/\/+$/, '');

/** A route or public prefix in canonical form: no trailing "/" or "*" ('' is the root). */
export const routePrefix = (p: string) => trimSlash(p.replace(/\*$/, ''));

/**
 * `path` is `prefix` or lies below it (segment-wise: "/api2" is not under "/api"). `prefix` has no
 * trailing slash ('' is the root). Per request on the route table's path: no string is built.
 */
export const underPrefix = (path: string, prefix: string) =>
  path === prefix || (path.startsWith(prefix) && path.charCodeAt(prefix.length) === 47);
