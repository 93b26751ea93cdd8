/**
 * The host of a webhook URL exactly as its string spells it. The WHATWG URL parser rewrites hosts
 * (`2130706433`, `0x7f.1`, `127.1` and `127.0.0.1.` all become `127.0.0.1`; `%2e` is decoded), so comparing
 * its `hostname` with WEBHOOK_ALLOW_HOSTS would let any other spelling of an allowed address through. Only
 * the written text counts; a spelling not in the list goes through the address check like any other host.
 */

// scheme, `//`, then the authority up to the first `/`, `\` (a path separator for http: and https:), `?` or `#`
const AUTHORITY = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/\\?#]*)/;
// the host, a plain name or address or bracketed IPv6 (anything else, such as `%2e` or a tab, the parser
// would rewrite), then an optional port
const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::\d*)?$/;

/**
 * Lower case, brackets kept for IPv6; undefined when the text cannot be read plainly (leading blanks,
 * tabs, percent-escapes or other text the parser would rewrite), or when it is not the host the parser
 * itself took: such a URL is never "as written" and so never allowed by name.
 */
export function hostAsWritten(url: string): string | undefined {
  const authority = AUTHORITY.exec(url)?.[1];
  if (authority === undefined) return undefined;
  const host = HOST_PORT.exec(authority.slice(authority.lastIndexOf('@') + 1))?.[1];
  if (!host) return undefined;
  try {
    // the same host for the parser, or our reading of the string is not the parser's
    if (new URL(url).hostname !== new URL(`http://${host}/`).hostname) return undefined;
  } catch {
    return undefined;
  }
  return host.toLowerCase();
}
