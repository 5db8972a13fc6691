// livedeck watch: reload this page once its deck was rebuilt (the slide stays: bespoke keeps it
// in the URL's #hash, which a reload keeps), and show the deck's error over the page while the
// last save did not build. Served as /_livedeck/live.js into every page of a watched deck.
(() => {
  const script = document.currentScript;
  const deck = script.dataset.deck;
  const loaded = Number(script.dataset.version);
  const style = (element, css) => { element.style.cssText = css; return element; };
  const block = (tag, text, css) => {
    const element = style(document.createElement(tag), css);
    element.textContent = text;
    return element;
  };
  let overlay = null;
  let warnings = null;

  function showError(error) {
    overlay?.remove();
    overlay = null;
    if (!error) return;
    overlay = style(document.createElement('div'), 'position:fixed;inset:0;z-index:2147483647;'
      + 'background:rgba(20,20,20,.82);display:flex;align-items:center;justify-content:center;'
      + 'font:15px/1.45 ui-monospace,monospace;color:#f5f5f5');
    overlay.id = 'livedeck-error';
    const box = style(document.createElement('div'), 'max-width:90vw;max-height:85vh;'
      + 'overflow:auto;background:#2b1d1d;border-left:6px solid #e5484d;padding:18px 22px;'
      + 'border-radius:6px;box-shadow:0 8px 30px rgba(0,0,0,.5)');
    box.append(
      block('div', 'livedeck: the last save did not build; the slides show the build before it',
        'color:#ff9592;font-weight:bold;margin-bottom:10px'),
      block('pre', error.text, 'margin:0;white-space:pre-wrap'),
    );
    if (error.hint) box.append(block('pre', `hint: ${error.hint}`, 'margin:10px 0 0;color:#ffd479;white-space:pre-wrap'));
    overlay.append(box);
    document.body.append(overlay);
  }

  function showWarnings(list) {
    warnings?.remove();
    warnings = null;
    if (!list?.length) return;
    warnings = block('pre', list.join('\n'), 'position:fixed;right:8px;bottom:8px;'
      + 'z-index:2147483646;max-width:60vw;margin:0;padding:6px 10px;white-space:pre-wrap;'
      + 'font:12px/1.4 ui-monospace,monospace;background:rgba(255,212,121,.95);color:#222;'
      + 'border-radius:4px;opacity:.9');
    warnings.id = 'livedeck-warnings';
    warnings.title = 'click to hide';
    warnings.onclick = () => warnings.remove();
    document.body.append(warnings);
  }

  const events = new EventSource(`/_livedeck/events?deck=${encodeURIComponent(deck)}`);
  events.addEventListener('state', (event) => {
    const state = JSON.parse(event.data);
    if (state.version !== loaded) {
      events.close();
      window.location.reload();
      return;
    }
    showError(state.error);
    showWarnings(state.warnings);
  });
})();
