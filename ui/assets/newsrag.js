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
  const openSource = (turn, src) => {
    if (!showTurn(turn)) return;
    const card = document.getElementById(`nr-src-${turn}-${src}`);
    if (!card) return;
    const details = card.closest('details');
    if (details) details.open = true;
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
      const m = /nr-src-(\d+)-(\d+)/.exec(cite.getAttribute('href') || '');
      const turn = cite.dataset.turn ?? (m && m[1]);
      const src = cite.dataset.src ?? (m && m[2]);
      openSource(turn, src);
      return;
    }
    const answer = event.target.closest && event.target.closest('.nr-answer[data-turn]');
    if (answer) showTurn(answer.dataset.turn);
  }, true);
})();
