// livedeck present: every transcript block of the deck gets a run control (a button, or `r` on its
// slide). Running it types the block's commands into the deck's one live shell on the lab and
// streams the terminal into the block (xterm.js), then shows the screen's verdict against the
// record. Served under the page's token as _livedeck/present.js; talks to _livedeck/events
// (Server-Sent Events) and _livedeck/act (POST).
(() => {
  const script = document.currentScript;
  const label = script.dataset.label;
  const base = window.location.pathname.replace(/[^/]*$/, '');
  const url = (name) => `${base}_livedeck/${name}`;
  const blocks = new Map(); // block index -> its controls and terminal
  const css = (element, text) => { element.style.cssText = text; return element; };
  const make = (tag, text, style = '', className = '') => {
    const element = css(document.createElement(tag), style);
    if (text) element.textContent = text;
    if (className) element.className = className;
    return element;
  };
  const decode = (data) => Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  const act = (action, block, data = '') => fetch(url('act'), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ action, block, data }),
  });
  let state = null;

  function banner(text, colour) {
    const element = make('div', text, 'position:fixed;left:8px;top:8px;z-index:2147483646;'
      + `padding:4px 10px;border-radius:4px;font:13px/1.4 ui-monospace,monospace;background:${colour};`
      + 'color:#fff;opacity:.9', 'livedeck-label');
    document.body.append(element);
    return element;
  }

  // The deck's transcript blocks are the page's `pre` elements holding their first command, in
  // deck order. A block that is not found turns the controls off: never run the wrong one.
  function attach(found) {
    const pres = [...document.querySelectorAll('pre, marp-pre')];
    let cursor = 0;
    for (const info of found.blocks) {
      if (!info.positions.length) continue;
      const at = pres.findIndex((pre, i) => i >= cursor && pre.textContent.includes(info.first));
      if (at < 0) {
        banner(`livedeck: the block of deck line ${info.line} is not on the page; live controls`
          + ' are off', '#b3261e');
        blocks.clear();
        return;
      }
      cursor = at + 1;
      blocks.set(info.index, controls(info, pres[at]));
    }
  }

  function controls(info, pre) {
    // Events of a block are shown one after the other: output waits until its command is typed.
    const block = { info, pre, term: null, chain: Promise.resolve(), program: false };
    const bar = make('div', '', 'display:flex;gap:6px;align-items:center;justify-content:flex-end;'
      + 'font:12px/1.6 ui-monospace,monospace;margin:2px 0', 'livedeck-bar');
    const button = make('button', '▶ run', 'font:inherit;cursor:pointer;padding:0 8px',
      'livedeck-run');
    button.title = 'run this block live (key: r)';
    button.onclick = () => act('run', info.index);
    block.badge = make('span', '', 'padding:0 6px;border-radius:3px;cursor:pointer',
      'livedeck-badge');
    block.badge.onclick = () => block.details.hidden = !block.details.hidden;
    block.note = make('span', '', 'color:#555', 'livedeck-note');
    bar.append(block.note, block.badge, button);
    block.details = make('pre', '', 'font-size:12px;max-height:30%;overflow:auto;margin:2px 0',
      'livedeck-diff');
    block.details.hidden = true;
    block.panel = make('div', '', 'font:12px/1.4 ui-monospace,monospace', 'livedeck-panel');
    pre.before(bar);
    pre.after(block.panel);
    pre.after(block.details);
    return block;
  }

  function terminal(block) {
    if (block.term) return block.term;
    const { pre } = block;
    const code = pre.querySelector('code') || pre;
    const fontSize = parseFloat(getComputedStyle(code).fontSize) || 16;
    const box = make('div', '', `width:${pre.offsetWidth}px;height:${pre.offsetHeight}px;`
      + 'overflow:hidden;background:#000;border-radius:4px;font-size:0', 'livedeck-term');
    pre.style.display = 'none';
    pre.after(box);
    // The lab's terminal size, so its cursor moves land where they do there; the box shows the
    // block's size of it and follows the cursor.
    const term = new window.Terminal({ cols: state.columns, rows: state.rows, fontSize,
      fontFamily: 'monospace', cursorBlink: false });
    term.open(box);
    term.onWriteParsed(() => {
      const row = term.element.offsetHeight / term.rows;
      const cursor = term.buffer.active.baseY + term.buffer.active.cursorY + 1;
      box.scrollTop = Math.max(0, cursor * row - box.clientHeight);
    });
    term.onData((data) => { if (block.program) act('keys', block.info.index, data); });
    box.addEventListener('keydown', (event) => { if (block.program) event.stopPropagation(); },
      true);
    block.term = term;
    return term;
  }

  // Resolves once the terminal has drawn the data (xterm.js parses writes later): a block's
  // badge then never shows before the output it speaks of.
  function write(block, data) {
    return new Promise((done) => terminal(block).write(data, done));
  }

  function badge(block, text, good) {
    block.badge.textContent = text;
    block.badge.style.background = good ? '#1a7f37' : '#bf8700';
    block.badge.style.color = '#fff';
  }

  // Types the command behind its prompt, one character at a time; resolves once it is typed.
  function typeIn(block, event) {
    const term = terminal(block);
    term.write(event.prompt);
    if (event.background || !event.typing) {
      term.write(`${event.text.replaceAll('\n', '\r\n')}\r\n`);
      return null;
    }
    const chars = [...event.text];
    const pause = (event.typing * 1000) / Math.max(1, chars.length);
    return new Promise((done) => {
      let next = 0;
      const tick = () => {
        if (next < chars.length) {
          term.write(chars[next] === '\n' ? '\r\n' : chars[next]);
          next += 1;
          setTimeout(tick, pause);
          return;
        }
        term.write('\r\n');
        done();
      };
      tick();
    });
  }

  function choices(block, event) {
    block.panel.replaceChildren();
    const box = make('div', '', 'border-left:4px solid #e5484d;background:#fff4f4;color:#222;'
      + 'padding:6px 10px;margin:4px 0', 'livedeck-failed');
    box.append(make('pre', event.message, 'margin:0;white-space:pre-wrap;font-size:12px'));
    if (event.hint) box.append(make('div', `hint: ${event.hint}`, 'color:#8a5a00'));
    const names = { retry: 'retry', recorded: 'show the recorded output', skip: 'skip',
      spare: 'open a spare shell on the lab' };
    for (const choice of event.choices) {
      const button = make('button', names[choice], 'margin:4px 6px 0 0;font:inherit',
        `livedeck-choice livedeck-${choice}`);
      button.onclick = () => {
        if (choice !== 'recorded' && choice !== 'spare') block.panel.replaceChildren();
        act(choice, block.info.index);
      };
      box.append(button);
    }
    block.panel.append(box);
  }

  function spare(block) {
    const box = make('div', '', 'height:12em;overflow:hidden;background:#111;margin:4px 0',
      'livedeck-spare');
    block.panel.append(box);
    const term = new window.Terminal({ cols: 120, rows: 10, fontSize: 12 });
    term.open(box);
    term.onData((data) => act('spare-keys', block.info.index, data));
    box.addEventListener('keydown', (event) => event.stopPropagation(), true);
    term.focus();
    block.spare = term;
  }

  function handle(event) {
    if (event.kind === 'state') {
      state = event;
      blocks.clear();
      document.querySelectorAll('.livedeck-label').forEach((e) => e.remove());
      banner(event.live ? 'live' : label, event.live ? '#1a7f37' : '#6e7781');
      attach(event);
      return;
    }
    const block = blocks.get(event.block);
    if (!block) return;
    block.chain = block.chain.then(() => show(block, event)).catch((error) => console.error(error));
  }

  function show(block, event) {
    if (event.kind === 'start') {
      block.note.textContent = event.background ? 'ran in the background' : '';
      block.panel.replaceChildren();
      block.program = false;
      return typeIn(block, event);
    } else if (event.kind === 'output') {
      return write(block, decode(event.data));
    } else if (event.kind === 'end') {
      block.program = false;
      const shown = event.how === 'skipped' ? write(block, `${event.screen.join('\r\n')}\r\n`)
        : null;
      return Promise.resolve(shown).then(() => {
        if (event.how === 'live') badge(block, event.same ? 'as recorded' : 'differs', event.same);
        else badge(block, event.how === 'skipped' ? 'skipped' : label, true);
        block.details.textContent = [event.summary, ...event.diff].join('\n');
      });
    } else if (event.kind === 'note') {
      block.note.textContent = event.text;
      block.note.style.color = event.error ? '#b3261e' : '#555';
    } else if (event.kind === 'failed') {
      badge(block, 'failed', false);
      choices(block, event);
    } else if (event.kind === 'program') {
      block.program = true;
      block.note.textContent = 'a program runs: click the terminal and type';
      terminal(block).focus();
    } else if (event.kind === 'recorded') {
      return write(block, `\r\n\x1b[2m--- recorded ---\x1b[0m\r\n${event.screen.join('\r\n')}\r\n`);
    } else if (event.kind === 'spare') {
      spare(block);
    } else if (event.kind === 'spare-output') {
      block.spare?.write(decode(event.data));
    }
    return null;
  }

  // `r` runs the first block of the shown slide that has not run yet.
  document.addEventListener('keydown', (event) => {
    if (event.key !== 'r' || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest?.('.livedeck-term, .livedeck-spare, input, textarea')) return;
    const slide = document.querySelector('svg.bespoke-marp-active') || document;
    const here = [...blocks.values()].filter((b) => slide.contains(b.pre) || slide.contains(b.term?.element));
    const next = here.find((b) => !b.badge.textContent) || here[0];
    if (next) act('run', next.info.index);
  });

  // For tests and the screenshot script: the blocks, and a block's terminal as text.
  const screen = (index) => {
    const buffer = blocks.get(index)?.term?.buffer.active;
    if (!buffer) return '';
    const rows = [];
    for (let i = 0; i < buffer.length; i += 1) rows.push(buffer.getLine(i).translateToString(true));
    return rows.join('\n').trimEnd();
  };
  window.livedeck = { blocks, act, screen };
  const events = new EventSource(url('events'));
  events.onmessage = (message) => handle(JSON.parse(message.data));
})();
