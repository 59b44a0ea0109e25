// newsrag chat: clicking a [n] badge shows the answer's sources and scrolls to passage n; Copy; plain-text
// aria-labels on chat messages.
(() => {
  if (window.__newsragCitations) return;
  window.__newsragCitations = true;
  const showTurn = (turn) => {
    const panel = document.querySelector('#nr-sources-panel .nr-sources');
    if (!panel) return null;
    panel.querySelectorAll('.nr-turn').forEach((s) => s.classList.toggle('nr-active', s.dataset.turn === String(turn)));
    return panel;
  };
  const openSource = (turn, src, start) => {
    const panel = showTurn(turn);
    if (!panel) return;
    const card = document.getElementById(`nr-src-${turn}-${src}`);
    if (!card) return;
    const details = card.closest('details');
    if (details) details.open = true;
    panel.querySelectorAll('mark.nr-focus').forEach((m) => m.classList.remove('nr-focus'));
    const mark = start != null ? document.getElementById(`nr-mark-${turn}-${src}-${start}`) : null;
    if (mark) mark.classList.add('nr-focus');
    card.scrollIntoView({ behavior: 'smooth', block: 'nearest' });
    card.classList.remove('nr-flash');
    void card.offsetWidth;
    card.classList.add('nr-flash');
  };
  // "Copy": the answer as plain text with [n] markers, then the cited sources (title, site, date, link)
  const answerText = (answer, turn) => {
    const text = answer.querySelector('.nr-text').cloneNode(true);
    text.querySelectorAll('.nr-cite').forEach((c) => c.replaceWith(` [${c.textContent.trim()}]`));
    const lines = [text.innerText.trim()];
    const section = document.querySelector(`#nr-sources-panel .nr-turn[data-turn="${turn}"]`);
    const cards = section ? section.querySelectorAll('.nr-card.nr-cited') : [];
    if (cards.length) lines.push('', 'Sources:');
    cards.forEach((card) => {
      const badges = [...card.querySelectorAll('.nr-badge')].map((b) => `[${b.textContent.trim()}]`).join('');
      const title = card.querySelector('.nr-title');
      const byline = card.querySelector('.nr-byline').innerText.split(' · ').slice(0, 2).join(', ');
      lines.push(`${badges} ${title.innerText.trim()} (${byline})${title.href ? ' ' + title.href : ''}`);
    });
    return lines.join('\n');
  };
  const copyText = async (text) => {
    try { await navigator.clipboard.writeText(text); return; } catch (e) { /* not a secure context */ }
    const area = Object.assign(document.createElement('textarea'), { value: text });
    document.body.appendChild(area); area.select(); document.execCommand('copy'); area.remove();
  };
  // the chat labels each message "<role>'s message: <its HTML>" for screen readers: read the text instead
  const plainLabels = () => {
    document.querySelectorAll('#nr-chatbot [aria-label*="message: "]').forEach((el) => {
      const label = el.getAttribute('aria-label');
      const head = label.slice(0, label.indexOf('message: ') + 9);
      if (!/[<>]/.test(label) && label.slice(head.length).trim()) return;
      const body = el.querySelector('.nr-question, .nr-text') || el;
      const text = body.textContent.replace(/\s+/g, ' ').trim();  // empty until the message has rendered
      if (text && head + text !== label) el.setAttribute('aria-label', head + text);
    });
  };
  new MutationObserver(plainLabels).observe(document.body, {
    subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ['aria-label'],
  });
  plainLabels();
  document.addEventListener('click', (event) => {
    const copy = event.target.closest && event.target.closest('a.nr-copy');
    if (copy) {
      event.preventDefault();
      event.stopPropagation();
      const answer = copy.closest('.nr-answer');
      const turn = answer && /(?:^|\s)nr-t-(\d+)/.exec(answer.className);
      if (!turn) return;
      copyText(answerText(answer, turn[1])).then(() => {
        copy.textContent = 'Copied';
        setTimeout(() => { copy.textContent = 'Copy'; }, 1500);
      });
      return;
    }
    const cite = event.target.closest && event.target.closest('a.nr-cite');
    if (cite) {
      event.preventDefault();
      event.stopPropagation();
      // href="#nr-src-TURN-SOURCE" or "#nr-mark-TURN-SOURCE-OFFSET" (the supporting sentence)
      const m = /nr-(?:src|mark)-(\d+)-(\d+)(?:-(\d+))?/.exec(cite.getAttribute('href') || '');
      if (m) openSource(m[1], m[2], m[3]);
      return;
    }
    // a click elsewhere on an answer shows that answer's sources (class nr-t-TURN; the chat strips data-*)
    const answer = event.target.closest && event.target.closest('.nr-answer');
    const turn = answer && /(?:^|\s)nr-t-(\d+)/.exec(answer.className);
    if (turn) showTurn(turn[1]);
  }, true);
})();
