// Measure how far each slide of marp-rendered HTML (`--template bare`) runs off the bottom.
//
//   node measure.mjs SPEC.json RESULT.json
//
// SPEC: {"chromium": "/usr/bin/chromium", "pages": [{"html": "/abs/deck.html", "base": "/abs/dir/"}]}
// `base` is the folder the deck's relative pictures are found in. One browser measures every
// page. RESULT: {"pages": [{"html": ..., "slides": [{number, overflow, height, culprit, code}]}]}
// (called by tools/livedeck/overflow.py, which documents the fields).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import puppeteer from 'puppeteer-core';

const [specPath, resultPath] = process.argv.slice(2);
if (!specPath || !resultPath) {
  console.error('usage: node measure.mjs SPEC.json RESULT.json');
  process.exit(2);
}
const spec = JSON.parse(readFileSync(specPath, 'utf8'));

// Runs inside the page: one entry per slide (svg), measured on the section that holds the content.
function measureSlides() {
  const kinds = { P: 'paragraph', UL: 'list', OL: 'list', PRE: 'code block', TABLE: 'table',
    BLOCKQUOTE: 'quote', IMG: 'picture', H1: 'heading', H2: 'heading', H3: 'heading',
    H4: 'heading', H5: 'heading', H6: 'heading' };
  const slides = [];
  document.querySelectorAll('svg[data-marpit-svg]').forEach((svg, i) => {
    // Advanced backgrounds split a slide into background/content/pseudo sections.
    const sections = [...svg.querySelectorAll(':scope > foreignObject > section')];
    const section = sections.find((s) => {
      const role = s.getAttribute('data-marpit-advanced-background');
      return !role || role === 'content';
    }) || sections[0];
    if (!section) return;
    const box = section.getBoundingClientRect();
    const scale = box.height / section.offsetHeight || 1;
    const style = getComputedStyle(section);
    const bottom = section.clientHeight - parseFloat(style.paddingBottom); // in section px
    // marp's browser script swaps <pre is="marp-pre"> and <h1>... for <marp-pre>, <marp-h1>...
    const tag = (el) => el.tagName.replace(/^MARP-/, '');
    const pres = [...section.querySelectorAll('pre, marp-pre')];
    const code = pres.map((pre, index) => {
      const el = pre.querySelector('code') || pre;
      const text = el.textContent.replace(/\n$/, '');
      // marp's auto-scaling draws a block wider (or, in gaia, taller) than the slide smaller:
      // offsetHeight is the block's own layout height, the bounding box the drawn one.
      const drawn = el.getBoundingClientRect().height / scale;
      return {
        index,
        lines: text === '' ? 0 : text.split('\n').length,
        height: pre.getBoundingClientRect().height / scale,
        font_px: parseFloat(getComputedStyle(el).fontSize),
        scale: el.offsetHeight ? Math.min(1, drawn / el.offsetHeight) : 1,
      };
    });
    // The culprit: the first block of the slide whose bottom edge lies below the content area.
    let culprit = null;
    for (const child of section.children) {
      const pos = getComputedStyle(child).position;
      if (tag(child) === 'HEADER' || tag(child) === 'FOOTER') continue;
      if (pos === 'absolute' || pos === 'fixed') continue;
      const rect = child.getBoundingClientRect();
      const childBottom = (rect.bottom - box.top) / scale;
      if (childBottom > bottom + 0.5) {
        const pre = tag(child) === 'PRE' ? child : child.querySelector('pre, marp-pre');
        const img = child.querySelector('img');
        culprit = {
          kind: pre ? 'code block' : img && tag(child) === 'P' && !child.textContent.trim()
            ? 'picture' : kinds[tag(child)] || tag(child).toLowerCase(),
          code_index: pre ? pres.indexOf(pre) : null,
          past_bottom: childBottom - bottom,
        };
        break;
      }
    }
    slides.push({
      number: i + 1,
      overflow: section.scrollHeight - section.clientHeight,
      height: section.clientHeight,
      culprit,
      code,
    });
  });
  return slides;
}

async function settle(page) {
  // Fonts, pictures, then two frames for marp's auto-scaling elements to lay themselves out.
  await page.evaluate(async () => {
    await document.fonts.ready;
    await Promise.all([...document.images].map((img) => (img.complete ? null
      : new Promise((done) => { img.onload = done; img.onerror = done; }))));
    await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
  });
}

const profile = mkdtempSync(join(tmpdir(), 'livedeck-measure-'));
let browser;
try {
  const args = ['--disable-gpu', '--disable-background-networking', '--hide-scrollbars'];
  if (process.getuid && process.getuid() === 0) args.push('--no-sandbox');
  browser = await puppeteer.launch({
    executablePath: spec.chromium,
    headless: true,
    userDataDir: profile,
    args,
    defaultViewport: { width: 1280, height: 720 },
  });
  const page = await browser.newPage();
  // Only local files: a theme's web font (gaia imports one) must not make numbers depend on
  // the network, and the PDF marp makes here cannot load it either.
  await page.setRequestInterception(true);
  page.on('request', (request) => {
    const url = request.url();
    if (url.startsWith('file:') || url.startsWith('data:') || url.startsWith('blob:')) {
      request.continue();
    } else {
      request.abort();
    }
  });
  const pages = [];
  for (const { html, base } of spec.pages) {
    const source = readFileSync(html, 'utf8');
    const baseTag = `<base href="${pathToFileURL(base).href.replace(/\/?$/, '/')}">`;
    writeFileSync(html, source.replace(/<head>/i, `<head>${baseTag}`));
    await page.goto(pathToFileURL(html).href, { waitUntil: 'load' });
    await settle(page);
    pages.push({ html, slides: await page.evaluate(measureSlides) });
  }
  writeFileSync(resultPath, JSON.stringify({ pages }));
} finally {
  if (browser) await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
