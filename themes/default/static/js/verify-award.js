// Rugzak award page: verify this award's VC-JWT in the visitor's browser and show what was
// checked. Progressive enhancement: without JavaScript, or when nothing could be checked, the
// verdict the site rendered stays the answer.
import {Report, element, hasEd25519, readStrings, renderReport, say, siteAt, verifyVcJwt, fetchText}
  from './verify-core.js';

const box = document.getElementById('live-check');
if (box) check(box);

async function check(box) {
  const strings = readStrings(box);
  const show = (...nodes) => { box.replaceChildren(...nodes); box.hidden = false; };
  show(element('p', {class: 'live-busy'}, say(strings, 'checking')));
  const link = box.dataset.verifyPage
    ? element('p', {}, element('a', {href: box.dataset.verifyPage}, say(strings, 'verifyLink'))) : null;
  let report = new Report('vcJwt', {alg: 'RS256'});
  if (!globalThis.crypto?.subtle) {
    report = new Report('');
    report.add('signature', false, 'noCrypto', {}, 'unreachable');
  } else {
    // Prefer the EdDSA copy; a browser without WebCrypto Ed25519 checks the RS256 one.
    const eddsa = box.dataset.eddsa && await hasEd25519();
    const site = siteAt(box.dataset.root);
    try {
      const url = new URL(eddsa ? box.dataset.eddsa : box.dataset.jwt, document.baseURI);
      const token = (await fetchText(site, url, 'format')).trim();
      report = await verifyVcJwt(token, site, new Date());
    } catch (error) {
      report.fail(error, 'format');
    }
    if (!eddsa) report.notes.push('noEd25519');
    if (report.checks.some((c) => c.name === 'status' && c.ok !== null)) report.notes.push('statusListNote');
  }
  if (['unchecked', 'foreign'].includes(report.verdict)) report.notes.push('keepsServer');
  box.dataset.verdict = report.verdict;
  show(renderReport(report, strings, {title: say(strings, 'heading'), extra: [link]}));
  if (report.verdict === 'invalid') overrule(strings);
}

// A failed check must not sit below a green "Valid badge": the top verdict says so too.
function overrule(strings) {
  const heading = document.getElementById('verdict-heading');
  const section = heading?.closest('section');
  if (!section) return;
  section.className = 'verdict verdict-invalid';
  section.dataset.overruled = 'true';
  heading.textContent = say(strings, 'topInvalid');
  section.replaceChildren(heading, element('p', {}, say(strings, 'topInvalidText')));
  const pill = document.querySelector('.facts .status');
  if (pill) {
    pill.className = 'status status-revoked';  // the red pill
    pill.textContent = say(strings, 'invalid');
  }
}
