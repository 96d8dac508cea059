// Rugzak /verify/: check a dropped or pasted credential of this site's issuer in the browser.
// Baked PNG (iTXt openbadges / openbadgecredential) and SVG (openbadges:assertion /
// openbadges:credential), OB 3.0 JSON with a Data Integrity proof (eddsa-rdfc-2022, canonicalized
// by the vendored jsonld.js, loaded only when needed), VC-JWT and OB 2.0 signed or hosted
// assertions. Nothing leaves the device: only this site's keys, lists and contexts are fetched.
import {
  ALGORITHMS, CheckError, Report, base58Bytes, checkDates, checkIssuer, checkStatus, decodeJws,
  element, fetchJson, fetchText, importKey, inflate, readStrings, renderReport, resolveKey, say, sha256, siteAt,
  verifyVcJwt,
} from './verify-core.js';

const JSONLD_VERSION = '9.0.0'; // keep in step with ../vendor/jsonld/SOURCE.txt
const OB2_CONTEXTS = ['https://w3id.org/openbadges/v2', 'https://openbadgespec.org/v2/context.json'];
const OB2_SVG = 'http://openbadges.org';
const OB3_SVG = 'https://purl.imsglobal.org/ob/v3p0';
const BAKED = [['openbadgecredential', OB3_SVG, 'credential', 'bakedOb3'],
  ['openbadges', OB2_SVG, 'assertion', 'bakedOb2']];
const MAX_BYTES = 20_000_000;
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const latin1 = (bytes) => new TextDecoder('latin1').decode(bytes);
const VERDICTS = ['invalid', 'foreign', 'revoked', 'expired', 'unchecked', 'valid'];

const app = document.getElementById('verify-app');
if (app) setUp(app);

function setUp(app) {
  const strings = readStrings(app);
  const [input, text, run, results] = ['verify-file', 'verify-text', 'verify-run', 'verify-results']
    .map((id) => document.getElementById(id));
  app.hidden = false;

  let latest = 0;
  async function present(label, make) {
    const ticket = ++latest; // a slower, earlier check must not overwrite a newer one
    results.dataset.state = 'busy';
    delete results.dataset.verdict;
    results.replaceChildren(element('p', {}, say(strings, 'working')));
    let reports;
    if (!globalThis.crypto?.subtle) {
      reports = [['', new Report('')]];
      reports[0][1].add('signature', false, 'noCrypto', {}, 'unreachable');
    } else {
      reports = await make(siteAt(app.dataset.root), new Date()).catch((error) => {
        const report = new Report('unknownKind');
        report.fail(error, 'format');
        return [['', report]];
      });
    }
    if (ticket !== latest) return;
    const verdicts = reports.map(([, r]) => r.verdict);
    results.dataset.verdict = VERDICTS.find((v) => verdicts.includes(v)) || 'invalid';
    results.replaceChildren(...reports.map(([part, report]) => renderReport(report, strings, {
      level: 'h3', title: part ? `${label} · ${say(strings, part)}` : label})));
    results.dataset.state = 'done';
  }

  const checkFile = (file) => present(file.name, (site, now) => checkBytes(file, site, now));
  input.addEventListener('change', () => input.files[0] && checkFile(input.files[0]));
  app.addEventListener('dragover', (event) => { event.preventDefault(); app.classList.add('dragging'); });
  app.addEventListener('dragleave', () => app.classList.remove('dragging'));
  app.addEventListener('drop', (event) => {
    event.preventDefault();
    app.classList.remove('dragging');
    const file = event.dataTransfer?.files[0];
    if (file) checkFile(file);
  });
  run.addEventListener('click', () => {
    const value = text.value.trim();
    if (!value) return results.replaceChildren(element('p', {}, say(strings, 'emptyInput')));
    present(say(strings, 'pasted'), async (site, now) => [['', await verifyText(value, site, now)]]);
  });
}

const failed = (msg, args = {}) => {
  const report = new Report('unknownKind');
  report.add('format', false, msg, args);
  return report;
};

/** [part, report] for every credential in a file: each baked payload, or the file's text. */
async function checkBytes(file, site, now) {
  if (file.size > MAX_BYTES) return [['', failed('tooLarge')]];
  const bytes = new Uint8Array(await file.arrayBuffer());
  let text = null;
  let payloads = null;
  try {
    if (bytes[0] === 0x89 && latin1(bytes.subarray(1, 4)) === 'PNG') payloads = await pngPayloads(bytes);
  } catch (error) {
    return [['', failed('badImage', {reason: error.message})]];
  }
  if (!payloads) {
    try { text = new TextDecoder('utf-8', {fatal: true}).decode(bytes); } catch { return [['', failed('notCredential')]]; }
    try {
      if (/^\s*</.test(text) && /<svg[\s>]/.test(text.slice(0, 4096))) payloads = svgPayloads(text);
    } catch (error) {
      return [['', failed('badImage', {reason: error.message})]];
    }
  }
  if (!payloads) return [['', await verifyText(text, site, now)]];
  const found = BAKED.filter(([keyword]) => payloads[keyword]);
  if (!found.length) return [['', failed('noBaked')]];
  const reports = [];
  for (const [keyword, , , part] of found) reports.push([part, await verifyText(payloads[keyword], site, now)]);
  return reports;
}

/** Baked PNG: "the first iTXt chunk with the keyword openbadges" (OB 2.0 baking;
 * openbadgecredential for OB 3.0); a tEXt/zTXt chunk counts only when there is no iTXt. */
async function pngPayloads(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const found = {};
  const legacy = {};
  for (let at = 8; ;) {
    if (at + 12 > bytes.length) throw new Error('the PNG is cut off');
    const length = view.getUint32(at);
    const type = latin1(bytes.subarray(at + 4, at + 8));
    const data = bytes.subarray(at + 8, at + 8 + length);
    if (data.length !== length) throw new Error('the PNG is cut off');
    at += 12 + length;
    if (type === 'IEND') break;
    if (!['iTXt', 'tEXt', 'zTXt'].includes(type)) continue;
    const nul = data.indexOf(0);
    const keyword = latin1(data.subarray(0, Math.max(nul, 0)));
    if (nul < 1 || !BAKED.some(([k]) => k === keyword) || keyword in found) continue;
    if (type === 'iTXt') {
      // keyword NUL, compression flag, method, language tag NUL, translated keyword NUL, text
      const language = data.indexOf(0, nul + 3);
      const translated = language < 0 ? -1 : data.indexOf(0, language + 1);
      if (translated < 0) throw new Error(`corrupt iTXt chunk ${keyword}`);
      const body = data.subarray(translated + 1);
      const raw = data[nul + 1] === 1 ? await inflate(body, 'deflate') : body;
      found[keyword] = new TextDecoder('utf-8', {fatal: true}).decode(raw).trim();
    } else if (!(keyword in legacy)) {
      const body = type === 'zTXt' ? await inflate(data.subarray(nul + 2), 'deflate') : data.subarray(nul + 1);
      legacy[keyword] = latin1(body).trim();
    }
  }
  return {...legacy, ...found};
}

/** Baked SVG: the first <openbadges:credential> / <openbadges:assertion> element, matched by
 * namespace or by its prefixed name; its body when it has one, else its verify attribute. */
function svgPayloads(text) {
  const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
  if (doc.getElementsByTagName('parsererror').length || doc.documentElement.localName !== 'svg') {
    throw new Error('the SVG is not well-formed XML');
  }
  const elements = [...doc.getElementsByTagName('*')];
  const found = {};
  for (const [keyword, namespace, local] of BAKED) {
    const node = elements.find((e) => e.localName === local
      && (e.namespaceURI === namespace || e.prefix === 'openbadges'));
    if (node) found[keyword] = node.textContent.trim() || (node.getAttribute('verify') || '').trim();
  }
  return found;
}

/** Verify a credential given as text: JSON (Data Integrity, or OB 2.0 hosted) or compact JWS. */
async function verifyText(text, site, now, followUrl = true) {
  const value = text.trim();
  if (value.startsWith('{')) {
    let document_;
    try { document_ = JSON.parse(value); } catch { return failed('notCredential'); }
    if (isObject(document_) && 'proof' in document_) return verifyDataIntegrity(document_, site, now);
    if (isObject(document_) && OB2_CONTEXTS.includes(document_['@context'])) {
      return verifyOb2Hosted(document_, site, now);
    }
    return failed('notCredential');
  }
  if (followUrl && /^https?:\/\/\S+$/.test(value)) { // a baked URL: the hosted copy on this site
    try { return await verifyText(await fetchText(site, value, 'format'), site, now, false); } catch (error) {
      const report = new Report('unknownKind');
      report.fail(error, 'format');
      return report;
    }
  }
  if (!/^[\w-]+\.[\w-]+\.[\w-]+$/.test(value)) return failed('notCredential');
  let jws;
  try { jws = decodeJws(value); } catch (error) { const r = new Report('unknownKind'); r.fail(error); return r; }
  if (OB2_CONTEXTS.includes(jws.payload['@context'])) return verifyOb2Jws(jws, site, now);
  return verifyVcJwt(value, site, now, (list) => verifyListProof(list, site, now));
}

// --- Data Integrity (eddsa-rdfc-2022) ----------------------------------------------------------

let jsonldScript = null;

/** jsonld.js, added to the page the first time a proof needs canonicalizing. */
function loadJsonld() {
  jsonldScript ??= new Promise((resolve, reject) => {
    if (globalThis.jsonld) return resolve(globalThis.jsonld);
    const script = element('script', {src: app.dataset.jsonld});
    script.addEventListener('load', () => (globalThis.jsonld ? resolve(globalThis.jsonld)
      : reject(new Error('jsonld.js did not start'))));
    script.addEventListener('error', () => reject(new Error('jsonld.js could not be loaded')));
    document.head.append(script);
  }).catch((error) => {
    jsonldScript = null;
    throw new CheckError('signature', 'jsonldFailed', {reason: error.message}, 'unreachable');
  });
  return jsonldScript;
}

/** The most telling message in a jsonld.js error (safe mode names the dropped term). */
function jsonldMessage(error) {
  const parts = [];
  for (let e = error; e && parts.length < 4; e = e.details?.cause || e.cause) {
    parts.push(e.details?.event?.message || e.message);
    const term = e.details?.event?.details?.property ?? e.details?.event?.details?.type;
    if (term) parts.push(JSON.stringify(term));
  }
  return parts.filter(Boolean).join(': ');
}

/** RDFC-1.0 canonical N-Quads, offline: contexts come from this site's /contexts/ (the
 * generator's bundled copies, listed in contexts/index.json); any other URL is refused. */
async function canonizerFor(site) {
  if (site.canonize) return site.canonize;
  const jsonld = await loadJsonld();
  // Without this site's contexts nothing can be said about the proof: "not checked".
  const index = await fetchJson(site, 'contexts/index.json', 'signature').catch((e) => {
    throw new CheckError('signature', e.msg || 'error', e.args || {reason: e.message}, 'unreachable');
  });
  const files = new Map();
  for (const [url, entry] of Object.entries(index.contexts ?? {})) {
    for (const alias of [url, ...(entry.aliases ?? [])]) files.set(alias, entry.file);
  }
  const documentLoader = async (url) => {
    if (!files.has(url)) throw new Error(`no copy of the context ${url} on this site`);
    const document_ = await fetchJson(site, 'contexts/' + files.get(url), 'signature');
    return {contextUrl: null, documentUrl: url, document: document_};
  };
  site.canonize = async (input) => {
    try {
      return await jsonld.canonize(input, {algorithm: 'RDFC-1.0', format: 'application/n-quads',
        safe: true, documentLoader});
    } catch (error) {
      throw new CheckError('signature', 'jsonldFailed', {reason: jsonldMessage(error)});
    }
  };
  return site.canonize;
}

async function checkOneProof(report, unsecured, proof, site) {
  if (!isObject(proof) || proof.type !== 'DataIntegrityProof' || proof.cryptosuite !== 'eddsa-rdfc-2022'
      || proof.proofPurpose !== 'assertionMethod') {
    const what = isObject(proof) ? [proof.type, proof.cryptosuite, proof.proofPurpose].join(' ') : '';
    throw new CheckError('signature', 'proofUnsupported', {what});
  }
  // proofValue: "z" + base58btc(64-byte Ed25519 signature)
  let signature = new Uint8Array();
  try { if (proof.proofValue[0] === 'z') signature = base58Bytes(proof.proofValue.slice(1)); } catch { /* below */ }
  if (signature.length !== 64) throw new CheckError('signature', 'sigBad');
  const method = await resolveKey(site, proof.verificationMethod);
  const key = await importKey(method, 'EdDSA');
  const canonize = await canonizerFor(site);
  // eddsa-rdfc-2022 (VC DI EdDSA §3.3): proofConfig = the proof options without proofValue, with
  // the document's @context; hashData = SHA-256(canonical proofConfig) || SHA-256(canonical
  // document); the Ed25519 signature is over those 64 bytes.
  const {proofValue, ...options} = proof;
  const [config, body] = await Promise.all([
    canonize({...options, '@context': unsecured['@context']}), canonize(unsecured)]);
  const encode = (s) => new TextEncoder().encode(s);
  const data = new Uint8Array(64);
  data.set(await sha256(encode(config)));
  data.set(await sha256(encode(body)), 32);
  if (!await crypto.subtle.verify(ALGORITHMS.EdDSA, key, signature, data)) {
    throw new CheckError('signature', 'sigBad');
  }
  report.add('signature', true, 'sigOkDi', {key: proof.verificationMethod, version: JSONLD_VERSION});
  report.add('key', true, 'keyOk', {did: site.did});
  return method;
}

/** OB 3.0 / VC 2.0 credential with an embedded proof: "any one valid proof suffices". */
async function verifyDataIntegrity(credential, site, now, withStatus = true) {
  const report = new Report('diJson');
  try {
    if (![].concat(credential.type).includes('VerifiableCredential')) throw new CheckError('format', 'notCredential');
    const proofs = [].concat(credential.proof ?? []);
    if (!proofs.length) throw new CheckError('signature', 'proofMissing');
    const {proof, ...unsecured} = credential;
    let method = null;
    let lastError = null;
    for (const item of proofs) {
      try { method = await checkOneProof(report, unsecured, item, site); break; } catch (error) { lastError = error; }
    }
    if (!method) throw lastError;
    checkIssuer(report, credential, method.controller);
    checkDates(report, credential.validFrom ?? credential.issuanceDate,
      credential.validUntil ?? credential.expirationDate, now);
    if (withStatus) await checkStatus(report, credential, site, now, (list) => verifyListProof(list, site, now));
  } catch (error) {
    report.fail(error, 'signature');
  }
  return report;
}

/** The status list credential's own proof; throws a CheckError for checkStatus when it fails. */
async function verifyListProof(list, site, now) {
  const inner = await verifyDataIntegrity(list, site, now, false);
  const problem = inner.checks.find((c) => c.ok === false);
  if (!problem) return;
  if (problem.flag === 'unreachable') throw new CheckError('status', problem.msg, problem.args, 'unreachable');
  throw new CheckError('status', 'statusListProof');
}

// --- Open Badges 2.0 ---------------------------------------------------------------------------

/** OB 2.0 signed assertion: RS256 with the CryptographicKey named by verification.creator
 * (publicKeyPem, SPKI), key and issuer naming each other, dates, the issuer's revocation list. */
async function verifyOb2Jws(jws, site, now) {
  const report = new Report('ob2Jws');
  try {
    const {header, payload} = jws;
    if (header.alg !== 'RS256' || 'crit' in header) throw new CheckError('signature', 'badAlg', {alg: String(header.alg)});
    const creator = payload.verification?.creator;
    if (typeof creator !== 'string') throw new CheckError('key', 'ob2NoKey');
    const keyDoc = await fetchJson(site, creator, 'key');
    const pem = /-----BEGIN PUBLIC KEY-----([A-Za-z0-9+/=\s]+)-----END PUBLIC KEY-----/.exec(String(keyDoc.publicKeyPem));
    const wrong = new CheckError('key', 'keyType', {key: creator, alg: 'RS256'});
    if (!pem) throw wrong;
    const der = Uint8Array.from(atob(pem[1].replace(/\s+/g, '')), (c) => c.charCodeAt(0));
    const key = await crypto.subtle.importKey('spki', der, {...ALGORITHMS.RS256, hash: 'SHA-256'},
      false, ['verify']).catch(() => { throw wrong; });
    if (key.algorithm.modulusLength < 2048) throw wrong;
    if (!await crypto.subtle.verify(ALGORITHMS.RS256, key, jws.signature, jws.input)) throw new CheckError('signature', 'sigBad');
    report.add('signature', true, 'sigOk', {alg: 'RS256', key: creator});
    const [issuerUrl, profile] = await ob2Issuer(payload, site);
    const keys = [].concat(profile.publicKey ?? []).map((k) => (isObject(k) ? k.id : k));
    if (keyDoc.owner === issuerUrl && keys.includes(creator)) report.add('key', true, 'ob2KeyOk');
    else report.add('key', false, 'ob2KeyBad', {issuer: issuerUrl});
    report.add('issuer', true, 'ob2IssuerOk', {issuer: profile.name ? `${profile.name} (${issuerUrl})` : issuerUrl});
    checkDates(report, payload.issuedOn, payload.expires, now);
    await checkOb2Revocation(report, String(payload.id), profile, site);
  } catch (error) {
    report.fail(error, 'signature');
  }
  return report;
}

/** The badge class's issuer URL and profile, both from this site. */
async function ob2Issuer(assertion, site) {
  const badge = isObject(assertion.badge) ? assertion.badge : await fetchJson(site, String(assertion.badge), 'issuer');
  const issuerUrl = String(isObject(badge.issuer) ? badge.issuer.id : badge.issuer);
  return [issuerUrl, await fetchJson(site, issuerUrl, 'issuer')];
}

async function checkOb2Revocation(report, id, profile, site) {
  if (!profile.revocationList) return report.add('status', null, 'ob2NoList');
  try {
    const list = await fetchJson(site, String(profile.revocationList), 'status');
    const hit = [].concat(list.revokedAssertions ?? []).find((e) => (isObject(e) ? e.id : e) === id);
    if (hit) report.add('status', false, 'ob2Revoked', {reason: hit.revocationReason ?? ''}, 'revoked');
    else report.add('status', true, 'ob2NotRevoked');
  } catch (error) {
    report.fail(error, 'status');
  }
}

/** OB 2.0 hosted assertion: the copy the issuer hosts on this site is what counts. */
async function verifyOb2Hosted(assertion, site, now) {
  const report = new Report('ob2Hosted');
  try {
    const url = String(assertion.id ?? '');
    const hosted = await fetchJson(site, url, 'hosted');
    if (hosted.revoked === true) {
      report.add('status', false, 'ob2Revoked', {reason: hosted.revocationReason ?? ''}, 'revoked');
      return report;
    }
    if (hosted.id !== url) throw new CheckError('hosted', 'hostedBad', {url});
    report.add('hosted', true, 'hostedOk', {url});
    const [issuerUrl, profile] = await ob2Issuer(hosted, site);
    report.add('issuer', true, 'ob2IssuerOk', {issuer: profile.name ? `${profile.name} (${issuerUrl})` : issuerUrl});
    checkDates(report, hosted.issuedOn, hosted.expires, now);
  } catch (error) {
    report.fail(error, 'hosted');
  }
  return report;
}
