// Rugzak: check a credential of this site in the browser with WebCrypto (award page and /verify/).
// A key counts only when this site's own DID document lists it under assertionMethod; nothing
// is fetched from another origin. Checks return reports; renderReport shows one.

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
export const ALGORITHMS = {RS256: {name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256'}, EdDSA: {name: 'Ed25519'}};

/** A failed check; `flag` marks outcomes other than "invalid":
 * revoked, expired, notyet, foreign (another issuer), unreachable (could not check). */
export class CheckError extends Error {
  constructor(check, msg, args = {}, flag = '') {
    super(msg);
    Object.assign(this, {check, msg, args, flag});
  }
}

export class Report {
  constructor(kind, args = {}) { Object.assign(this, {kind, args, checks: [], notes: []}); }

  add(name, ok, msg, args = {}, flag = '') { this.checks.push({name, ok, msg, args, flag}); }

  fail(e, check) {
    if (e instanceof CheckError) this.add(e.check, false, e.msg, e.args, e.flag);
    else this.add(check, false, 'error', {reason: e?.message || String(e)});
  }

  /** invalid > foreign > revoked > expired > unchecked > valid */
  get verdict() {
    const flags = this.checks.filter((c) => c.ok === false).map((c) => c.flag);
    if (!this.checks.length || flags.includes('') || flags.includes('notyet')) return 'invalid';
    const found = ['foreign', 'revoked', 'expired', 'unreachable'].find((f) => flags.includes(f));
    return found === 'unreachable' ? 'unchecked' : found || 'valid';
  }
}

export function b64urlBytes(s) {
  if (typeof s !== 'string' || !/^[\w-]*$/.test(s)) throw new Error('not base64url');
  return Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
}

export function base58Bytes(s) {
  let n = 0n;
  for (const c of s) {
    if (!B58.includes(c)) throw new Error('not base58btc');
    n = n * 58n + BigInt(B58.indexOf(c));
  }
  const out = [];
  for (; n; n >>= 8n) out.unshift(Number(n & 255n));
  return new Uint8Array([...s.match(/^1*/)[0]].map(() => 0).concat(out));
}

export const sha256 = async (bytes) => new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));

/** gzip or zlib ('deflate') data, inflated. */
export async function inflate(bytes, format) {
  if (typeof DecompressionStream !== 'function') throw new CheckError('status', 'browserTooOld', {}, 'unreachable');
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream(format));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** The site whose base folder is `root` (relative to the page). did:web: host, port colon as
 * %3A, then the path segments; its document is /.well-known/did.json, or <path>/did.json. */
export function siteAt(root) {
  const url = new URL(root, document.baseURI);
  url.search = url.hash = '';
  const path = url.pathname.split('/').filter(Boolean);
  const did = ['did:web', url.hostname + (url.port ? '%3A' + url.port : ''),
    ...path.map((s) => encodeURIComponent(decodeURIComponent(s)))].join(':');
  return {root: url.href, did, cache: new Map(),
    didDocument: new URL(path.length ? 'did.json' : '.well-known/did.json', url).href};
}

/** The text at a URL of this site, fetched once per site object; other URLs are refused. */
export async function fetchText(site, url, check = 'key') {
  const target = new URL(url, site.root);
  target.hash = '';
  const href = target.href;
  if (!href.startsWith(site.root)) throw new CheckError(check, 'notHere', {url: href}, 'foreign');
  if (!site.cache.has(href)) {
    site.cache.set(href, fetch(href, {cache: 'no-cache', credentials: 'omit'})
      .then((r) => (r.ok ? r.text() : Promise.reject(new Error('HTTP ' + r.status)))));
  }
  try {
    return await site.cache.get(href);
  } catch (e) { // a 4xx is the site's answer; anything else may pass (offline, server error)
    throw new CheckError(check, 'unreachable', {url: href, reason: e.message},
      /^HTTP 4/.test(e.message) ? '' : 'unreachable');
  }
}

export async function fetchJson(site, url, check = 'key') {
  const text = await fetchText(site, url, check);
  try { return JSON.parse(text); } catch { throw new CheckError(check, 'notJson', {url}); }
}

export const issuerId = (c) => (isObject(c.issuer) ? c.issuer.id : c.issuer);

/** The verification method `kid` (a DID URL of this site) when the DID document lists it
 * under assertionMethod and this site's DID controls it. */
export async function resolveKey(site, kid) {
  const did = String(kid).split('#')[0];
  if (!String(kid).includes('#')) throw new CheckError('key', 'keyMissing', {key: String(kid)});
  if (did !== site.did) throw new CheckError('key', 'foreignKey', {key: kid, did: site.did}, 'foreign');
  const doc = await fetchJson(site, site.didDocument);
  if (doc.id !== did) throw new CheckError('key', 'didMismatch', {url: site.didDocument, did});
  const full = (id) => (String(id).startsWith('#') ? did + id : id);
  const listed = [].concat(doc.assertionMethod ?? []);
  const method = [].concat(doc.verificationMethod ?? [], listed).find((m) => isObject(m) && full(m.id) === kid);
  if (!method) throw new CheckError('key', 'keyMissing', {key: kid});
  if (!listed.some((m) => full(isObject(m) ? m.id : m) === kid)) throw new CheckError('key', 'keyNotAssertion', {key: kid});
  if (method.controller !== did) throw new CheckError('key', 'keyController', {key: kid, controller: String(method.controller)});
  return method;
}

/** RS256: publicKeyJwk (RSA, ≥ 2048 bits). EdDSA: Multikey publicKeyMultibase
 * "z" + base58btc(0xed 0x01 + the 32-byte Ed25519 public key). */
export async function importKey(method, alg) {
  const jwk = method.publicKeyJwk || {};
  const wrong = new CheckError('key', 'keyType', {key: method.id, alg});
  if (alg === 'RS256') {
    if (jwk.kty !== 'RSA' || b64urlBytes(jwk.n).length < 256) throw wrong;
    return crypto.subtle.importKey('jwk', {kty: 'RSA', n: jwk.n, e: jwk.e}, ALGORITHMS.RS256, false, ['verify']);
  }
  const multikey = String(method.publicKeyMultibase);
  const bytes = multikey[0] === 'z' ? base58Bytes(multikey.slice(1)) : [];
  if (alg !== 'EdDSA' || bytes.length !== 34 || bytes[0] !== 0xed || bytes[1] !== 0x01) throw wrong;
  return crypto.subtle.importKey('raw', bytes.slice(2), ALGORITHMS.EdDSA, false, ['verify']).catch((e) => {
    throw e.name === 'NotSupportedError' ? new CheckError('signature', 'noEd25519Here', {}, 'unreachable') : e;
  });
}

/** Whether WebCrypto here verifies Ed25519 (tried with RFC 8032 test 1's public key). */
export const hasEd25519 = () => crypto.subtle.importKey('raw', Uint8Array.from(
  'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a'.match(/../g), (h) => parseInt(h, 16)),
ALGORITHMS.EdDSA, false, ['verify']).then(() => true, () => false);

/** Header, payload, signature and signing input of a compact JWS (RFC 7515 §7.1). */
export function decodeJws(token) {
  const parts = token.split('.');
  try {
    const [header, payload] = parts.slice(0, 2).map((p) => JSON.parse(new TextDecoder('utf-8', {fatal: true}).decode(b64urlBytes(p))));
    if (parts.length === 3 && isObject(header) && isObject(payload)) {
      return {header, payload, signature: b64urlBytes(parts[2]), input: new TextEncoder().encode(parts[0] + '.' + parts[1])};
    }
  } catch { /* below */ }
  throw new CheckError('format', 'notJws');
}

/** The JWS signature, by the key its `kid` names (a key inside the token proves nothing). */
export async function checkJwsSignature(report, jws, site) {
  const {alg, kid} = jws.header;
  if (!ALGORITHMS[alg] || 'crit' in jws.header) throw new CheckError('signature', 'badAlg', {alg: String(alg)});
  if (typeof kid !== 'string') throw new CheckError('key', 'noKid');
  const method = await resolveKey(site, kid);
  const key = await importKey(method, alg);
  if (!await crypto.subtle.verify(ALGORITHMS[alg], key, jws.signature, jws.input)) throw new CheckError('signature', 'sigBad');
  report.add('signature', true, 'sigOk', {alg, key: kid});
  report.add('key', true, 'keyOk', {did: site.did});
  return method;
}

export function checkIssuer(report, credential, controller) {
  const id = issuerId(credential);
  const name = typeof credential.issuer?.name === 'string' ? credential.issuer.name : '';
  if (id !== controller) report.add('issuer', false, 'issuerBad', {issuer: String(id), controller});
  else report.add('issuer', true, 'issuerOk', {issuer: name ? `${name} (${id})` : id});
}

const moment = (v) => (/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i.test(v) ? new Date(v) : null);

/** validFrom ≤ now < validUntil (VCDM 2.0 §4.9), or OB 2.0 issuedOn / expires. */
export function checkDates(report, start, end, now) {
  const from = moment(start);
  const until = end == null ? undefined : moment(end);
  if (!from || until === null) report.add('dates', false, 'datesBad');
  else if (from > now) report.add('dates', false, 'notYet', {from}, 'notyet');
  else if (until && until <= now) report.add('dates', false, 'expiredOn', {until}, 'expired');
  else report.add('dates', true, until ? 'datesOk' : 'datesOpen', {from, until});
}

/** Bitstring Status List v1.0: encodedList = "u" + base64url(GZIP(bitstring)); "index 0 is the
 * left-most bit of the first byte"; a set bit means the status applies. The list must be this
 * site's and the credential issuer's; `verifyList` (the /verify/ page) checks its own proof. */
export async function checkStatus(report, credential, site, now, verifyList = null) {
  const entry = credential.credentialStatus;
  if (entry == null) return report.add('status', null, 'statusNone');
  try {
    const url = String(entry.statusListCredential);
    const purpose = entry.statusPurpose;
    const bad = new CheckError('status', 'statusBad', {url});
    if (entry.type !== 'BitstringStatusListEntry' || !['revocation', 'suspension'].includes(purpose)) throw bad;
    const list = await fetchJson(site, url, 'status');
    const subject = list.credentialSubject || {};
    const dates = new Report('');
    checkDates(dates, list.validFrom, list.validUntil, now);
    if (![].concat(list.type).includes('BitstringStatusListCredential') || dates.verdict !== 'valid'
        || issuerId(list) !== issuerId(credential) || subject.statusPurpose !== purpose
        || !/^u[\w-]+$/.test(subject.encodedList)) throw bad;
    if (verifyList) await verifyList(list);
    const bits = await inflate(b64urlBytes(subject.encodedList.slice(1)), 'gzip').catch((e) => {
      throw e instanceof CheckError ? e : bad;
    });
    const index = /^\d+$/.test(entry.statusListIndex) ? Number(entry.statusListIndex) : -1;
    if (index < 0 || index >= bits.length * 8) throw new CheckError('status', 'statusIndex', {index: String(entry.statusListIndex)});
    if (bits[index >> 3] & (0x80 >> (index & 7))) report.add('status', false, 'statusSet', {index, purpose}, 'revoked');
    else report.add('status', true, verifyList ? 'statusOkSigned' : 'statusOk', {index});
  } catch (e) {
    report.fail(e, 'status');
  }
}

/** An OB 3.0 VC-JWT: signature by this site's `kid` key, the JWT claims against the credential
 * (iss = issuer.id, jti = id, sub = credentialSubject.id, nbf/exp = validFrom/validUntil),
 * issuer = key controller, dates, status. */
export async function verifyVcJwt(token, site, now, verifyList = null) {
  const report = new Report('vcJwt', {alg: '?'});
  try {
    const jws = decodeJws(token);
    report.args.alg = String(jws.header.alg);
    const method = await checkJwsSignature(report, jws, site);
    const claims = jws.payload;
    const vc = isObject(claims.vc) ? claims.vc : claims;
    const seconds = (v) => Math.floor(moment(v) / 1000);
    const differ = Object.entries({iss: issuerId(vc), jti: vc.id, sub: vc.credentialSubject?.id,
      nbf: seconds(vc.validFrom), exp: seconds(vc.validUntil)})
      .filter(([name, value]) => (name in claims || name === 'iss') && claims[name] !== value).map(([name]) => name);
    report.add('claims', !differ.length, differ.length ? 'claimsBad' : 'claimsOk', {claims: differ.join(', ')});
    checkIssuer(report, vc, method.controller);
    checkDates(report, vc.validFrom ?? vc.issuanceDate, vc.validUntil ?? vc.expirationDate, now);
    await checkStatus(report, vc, site, now, verifyList);
  } catch (e) {
    report.fail(e, 'signature');
  }
  return report;
}

// --- showing a report ------------------------------------------------------------------------

/** UI strings: JSON in the element's data-strings, rendered from the gettext catalogs. */
export function readStrings(node) {
  try { return JSON.parse(node.dataset.strings); } catch { return {}; }
}

/** strings[key] with its {name} placeholders filled in; dates in the page's language. */
export function say(strings, key, args = {}) {
  const day = new Intl.DateTimeFormat(document.documentElement.lang || 'en', {dateStyle: 'long', timeZone: 'UTC'});
  return (strings[key] ?? key).replace(/\{(\w+)\}/g, (all, name) => (
    name in args ? (args[name] instanceof Date ? day.format(args[name]) : String(args[name])) : all));
}

export function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children.filter((c) => c != null));
  return node;
}

const MARKS = {true: '✓ ', false: '✗ ', null: '– '};

/** A report as HTML: heading with the verdict, the kind of credential, one line per check. */
export function renderReport(report, strings, {title = '', level = 'h2', extra = []} = {}) {
  const verdict = report.verdict;
  const word = say(strings, verdict === 'foreign' ? 'unchecked' : verdict);
  return element('div', {class: `verdict verdict-${verdict} live-result`, 'data-verdict': verdict},
    element(level, {}, title ? `${title}: ${word}` : word),
    report.kind ? element('p', {class: 'live-kind'}, say(strings, report.kind, report.args)) : null,
    element('ul', {class: 'checks'}, ...report.checks.map((c) => element('li', {'data-check': c.name, 'data-ok': c.ok},
      element('span', {'aria-hidden': 'true'}, MARKS[c.ok]), element('strong', {}, say(strings, 'check_' + c.name)),
      ': ', say(strings, c.msg, c.args)))),
    ...report.notes.map((n) => element('p', {class: 'live-note'}, say(strings, n))), ...extra);
}
