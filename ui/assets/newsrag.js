// newsrag chat: clicking a [n] badge shows the answer's sources and scrolls to passage n.
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
  document.addEventListener('click', (event) => {
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
