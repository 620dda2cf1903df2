// Prepare: check Punctual's payload, answer repeats and dry runs' mistakes, build the LinkedIn post.
// Runs once per item. Output `route`: 0 = answer now (status, body), 1 = post, 2 = post with an
// image, 3 = dry run (check the token with LinkedIn; post nothing).
const body = ($json.body && typeof $json.body === 'object') ? $json.body : {};
const headers = $json.headers || {};
const key = body.idempotencyKey || headers['idempotency-key'];
const refuse = (message) => ({ json: { route: 0, status: 400, body: { message } } });

// LinkedIn's base URL and API version: overridable with n8n environment variables (tests point
// LINKEDIN_API_BASE_URL at a fake). n8n 2 blocks env access in nodes by default: then the defaults hold.
let baseUrl = 'https://api.linkedin.com';
let linkedinVersion = '202510';
try {
  if ($env.LINKEDIN_API_BASE_URL) baseUrl = String($env.LINKEDIN_API_BASE_URL).replace(/\/+$/, '');
  if ($env.LINKEDIN_API_VERSION) linkedinVersion = String($env.LINKEDIN_API_VERSION);
} catch (error) { /* N8N_BLOCK_ENV_ACCESS_IN_NODE: keep the defaults */ }

const filled = (field) => typeof body[field] === 'string' && body[field].trim() !== '';
const personUrnOk = () => /^urn:li:person:[A-Za-z0-9_-]+$/.test(body.personUrn);

// A dry run (Punctual's pipeline check) says so in the body or in a header; either one is enough,
// and any value but an explicit "no" counts, so nothing that claims to be a dry run is ever posted.
const dryHeader = headers['x-punctual-dry-run'];
const dryRun = (body.dryRun !== undefined && body.dryRun !== null && body.dryRun !== false)
  || (dryHeader !== undefined && !/^(0|false|no)?$/i.test(String(dryHeader).trim()));
if (dryRun) {
  const missing = ['personUrn', 'accessToken'].filter((field) => !filled(field));
  if (missing.length) return refuse(`A dry run needs ${missing.join(' and ')}; nothing was checked.`);
  if (!personUrnOk()) return refuse('personUrn must look like urn:li:person:<id>; nothing was checked.');
  const extra = ['postId', 'content', 'imageUrl'].filter((field) => body[field] !== undefined && body[field] !== null);
  if (extra.length) return refuse(`A dry run carries no ${extra.join(', ')}; nothing was checked or posted.`);
  return { json: { route: 3, dryRun: true, accessToken: body.accessToken, personUrn: body.personUrn, baseUrl, linkedinVersion } };
}

const required = ['postId', 'accessToken', 'personUrn', 'content', 'idempotencyKey'];
const missing = required.filter((field) => !filled(field));
if (missing.length) return refuse(`Missing or empty field(s): ${missing.join(', ')}.`);
if (!personUrnOk()) return refuse('personUrn must look like urn:li:person:<id>.');
if (/^dry-run:/i.test(key)) return refuse('Idempotency keys starting with dry-run: are kept for dry runs; send "dryRun": true to check the pipeline.');

// Repeats: a key that was published before is answered with the post it made, and not posted
// again. Keys are remembered only after LinkedIn confirmed (see Map LinkedIn's answer), so a try
// that failed (429, a timeout) can be tried again with the same key. This comes first: a resend of
// a published post is answered as published, whatever its image URL.
const published = $getWorkflowStaticData('global').published || {};
if (published[key]) {
  return { json: { route: 0, status: 200, body: {
    linkedinPostUrn: published[key], duplicate: true,
    message: 'Already published for this idempotency key; not posted again.' } } };
}

// Image URLs: only public http(s) addresses. A literal internal host (loopback, private, link-local
// such as 169.254.169.254, multicast, reserved, in any IPv4 spelling or in IPv6) would make n8n a
// proxy into its own network, so it is refused before anything is downloaded. n8n's Code node runs
// in a sandbox without the URL class, so the URL is read here by the WHATWG URL rules that the
// download (axios, Node's URL) applies to the host: decimal, hex, octal and short IPv4 forms
// (2130706433, 0x7f000001, 0177.0.0.1, 127.1) are read as the address they mean, and whatever
// those rules would read in a surprising way (backslashes, spaces, percent-escapes or non-ASCII in
// the host, missing slashes) is refused. The download then uses the URL rebuilt from what was
// checked. A DNS name that resolves to an internal address cannot be seen here (see the README).
const V4_BLOCKS = [
  ['0.0.0.0', 8, 'an unspecified ("this network") address'], ['10.0.0.0', 8, 'a private address'],
  ['100.64.0.0', 10, 'a shared (carrier-grade NAT) address'], ['127.0.0.0', 8, 'a loopback address'],
  ['169.254.0.0', 16, 'a link-local address'], ['172.16.0.0', 12, 'a private address'],
  ['192.0.0.0', 24, 'a reserved address'], ['192.0.2.0', 24, 'a reserved (documentation) address'],
  ['192.168.0.0', 16, 'a private address'], ['198.18.0.0', 15, 'a reserved (benchmarking) address'],
  ['198.51.100.0', 24, 'a reserved (documentation) address'], ['203.0.113.0', 24, 'a reserved (documentation) address'],
  ['224.0.0.0', 4, 'a multicast address'], ['240.0.0.0', 4, 'a reserved address'],
];
const v4Value = (a) => a[0] * 16777216 + a[1] * 65536 + a[2] * 256 + a[3];
const v4Problem = (a) => {
  const hit = V4_BLOCKS.find(([base, bits]) => {
    const size = 2 ** (32 - bits);
    return Math.floor(v4Value(a) / size) === Math.floor(v4Value(base.split('.').map(Number)) / size);
  });
  return hit ? hit[2] : null;
};
// WHATWG's IPv4 number: 0x.. hex, 0.. octal, else decimal; null when it is not one.
const v4Number = (part) => {
  if (part === '') return null;
  let radix = 10;
  let digits = part;
  if (/^0x/i.test(part)) { radix = 16; digits = part.slice(2); } else if (part.length > 1 && part[0] === '0') { radix = 8; digits = part.slice(1); }
  if (digits === '') return 0;
  const valid = { 10: /^[0-9]+$/, 16: /^[0-9a-f]+$/i, 8: /^[0-7]+$/ }[radix];
  return valid.test(digits) ? parseInt(digits, radix) : null;
};
// WHATWG host rules for an ASCII name: if its last label is a number, the host is an IPv4 address
// (four octets), or invalid (null); otherwise it is a domain ('domain').
const v4Host = (name) => {
  const parts = name.split('.');
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  const last = parts[parts.length - 1];
  if (!(/^[0-9]+$/.test(last) || v4Number(last) !== null)) return 'domain';
  if (parts.length > 4) return null;
  const numbers = parts.map(v4Number);
  if (numbers.some((n) => n === null) || numbers.slice(0, -1).some((n) => n > 255)) return null;
  if (numbers[numbers.length - 1] >= 256 ** (5 - numbers.length)) return null;
  let value = numbers[numbers.length - 1];
  numbers.slice(0, -1).forEach((n, i) => { value += n * 256 ** (3 - i); });
  return [Math.floor(value / 16777216) % 256, Math.floor(value / 65536) % 256, Math.floor(value / 256) % 256, value % 256];
};
// IPv6 text (no brackets) -> eight 16-bit groups, or null.
const v6 = (text) => {
  let s = text.toLowerCase();
  const tail = s.match(/^(.*:)(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/);
  if (tail) {
    const a = tail.slice(2).map(Number);
    if (a.some((n) => n > 255)) return null;
    s = `${tail[1]}${(a[0] * 256 + a[1]).toString(16)}:${(a[2] * 256 + a[3]).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const groups = (part) => (part === '' ? [] : part.split(':'));
  const head = groups(halves[0]);
  const rest = halves.length === 2 ? groups(halves[1]) : [];
  const fill = halves.length === 2 ? 8 - head.length - rest.length : 0;
  if (fill < (halves.length === 2 ? 1 : 0) || (halves.length === 1 && head.length !== 8)) return null;
  const all = [...head, ...Array(fill).fill('0'), ...rest];
  if (all.length !== 8 || !all.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return null;
  return all.map((g) => parseInt(g, 16));
};
const embeddedV4 = (g, at) => [g[at] >> 8, g[at] & 255, g[at + 1] >> 8, g[at + 1] & 255];
const v6Problem = (g) => {
  const zeroUpTo = (n) => g.slice(0, n).every((x) => x === 0);
  if (zeroUpTo(8)) return 'an unspecified address';
  if (zeroUpTo(7) && g[7] === 1) return 'a loopback address';
  if (zeroUpTo(5) && g[5] === 0xffff) {  // ::ffff:a.b.c.d, IPv4-mapped: judged by its IPv4 address
    const inner = v4Problem(embeddedV4(g, 6));
    return inner && `${inner} (IPv4-mapped)`;
  }
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) {  // 64:ff9b::/96, NAT64
    const inner = v4Problem(embeddedV4(g, 6));
    return inner && `${inner} (NAT64)`;
  }
  if (g[0] === 0x2002) {  // 6to4 carries an IPv4 address in its next 32 bits
    const inner = v4Problem(embeddedV4(g, 1));
    return inner && `${inner} (6to4)`;
  }
  if ((g[0] & 0xfe00) === 0xfc00) return 'a private (unique local) address';
  if ((g[0] & 0xffc0) === 0xfe80) return 'a link-local address';
  if ((g[0] & 0xffc0) === 0xfec0) return 'a private (site-local) address';
  if ((g[0] & 0xff00) === 0xff00) return 'a multicast address';
  if ((g[0] & 0xe000) !== 0x2000) return 'a reserved address';  // only 2000::/3 is global unicast
  if (g[0] === 0x2001 && g[1] < 0x200) return 'a reserved (IETF protocol) address';  // 2001::/23, Teredo
  if (g[0] === 0x2001 && g[1] === 0x0db8) return 'a reserved (documentation) address';
  if (g[0] === 0x3fff && g[1] < 0x1000) return 'a reserved (documentation) address';  // 3fff::/20
  return null;
};
const LOCAL_NAMES = /(^|\.)(localhost|local|internal|localdomain|home\.arpa)$/;
// Returns [URL to download, null] or [null, reason].
const checkImageUrl = (raw) => {
  if (typeof raw !== 'string' || raw.length > 2048) return [null, 'is not a URL of at most 2,048 characters'];
  const text = raw.trim();
  if (/[\u0000-\u0020\u007f\\]/.test(text)) return [null, 'contains spaces, control characters or backslashes'];
  const parts = text.match(/^([a-z][a-z0-9+.-]*):(.*)$/i);
  if (!parts) return [null, 'is not a valid URL'];
  const scheme = parts[1].toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') return [null, 'must start with http:// or https://'];
  if (!parts[2].startsWith('//')) return [null, 'is not a valid URL'];
  const afterSlashes = parts[2].slice(2);
  const cut = afterSlashes.search(/[/?#]/);
  const authority = cut === -1 ? afterSlashes : afterSlashes.slice(0, cut);
  const rest = cut === -1 ? '/' : afterSlashes.slice(cut);
  if (authority.includes('@')) return [null, 'must not carry a user name or password'];
  const hostPort = authority.match(/^(\[[^\]]*\]|[^:]*)(?::([0-9]*))?$/);
  if (!hostPort || !hostPort[1]) return [null, 'is not a valid URL'];
  const port = hostPort[2] ? Number(hostPort[2]) : null;
  if (port !== null && port > 65535) return [null, 'is not a valid URL'];
  const url = (host) => `${scheme}://${host}${port === null ? '' : `:${port}`}${rest}`;
  const host = hostPort[1].toLowerCase();
  if (host.startsWith('[')) {
    const groups = v6(host.slice(1, -1));
    if (!groups) return [null, 'has an IPv6 host that cannot be read'];
    const problem = v6Problem(groups);
    return problem ? [null, `points to ${problem}, not a public one`] : [url(`[${groups.map((g) => g.toString(16)).join(':')}]`), null];
  }
  if (/[^\x21-\x7e]/.test(host)) return [null, 'has a non-ASCII host name; use its ASCII (xn--) form'];
  if (!/^[a-z0-9._-]+$/.test(host)) return [null, 'has a host name that cannot be read'];
  const address = v4Host(host);
  if (address === null) return [null, 'is not a valid URL'];
  if (address !== 'domain') {
    const problem = v4Problem(address);
    return problem ? [null, `points to ${problem}, not a public one`] : [url(address.join('.')), null];
  }
  const name = host.replace(/\.$/, '');
  const labels = name.split('.');
  if (labels.some((label) => label === '')) return [null, 'has a host name that cannot be read'];
  if (LOCAL_NAMES.test(name)) return [null, 'points to a local host name, not a public one'];
  if (labels.length === 1) return [null, 'has a single-label host name; use the full public name'];
  return [url(host), null];
};

let imageUrl = null;
if (body.imageUrl !== undefined && body.imageUrl !== null && body.imageUrl !== '') {
  const [checked, reason] = checkImageUrl(body.imageUrl);
  if (reason) return refuse(`The image URL ${reason}; nothing was posted.`);
  imageUrl = checked;
}

// LinkedIn's "little" text format: these characters must be escaped or the post is cut short.
const commentary = body.content.replace(/[\\|{}@\[\]()<>#*_~]/g, '\\$&');
const request = {
  author: body.personUrn,
  commentary,
  visibility: 'PUBLIC',
  distribution: { feedDistribution: 'MAIN_FEED', targetEntities: [], thirdPartyDistributionChannels: [] },
  lifecycleState: 'PUBLISHED',
  isReshareDisabledByAuthor: false,
};
return { json: {
  route: imageUrl ? 2 : 1,
  idempotencyKey: key,
  accessToken: body.accessToken,
  personUrn: body.personUrn,
  imageUrl,
  baseUrl,
  linkedinVersion,
  request,
} };
