// Accessible tabs (the WAI-ARIA tabs pattern, activation follows focus): one tab in the
// page's tab order, arrow keys move between tabs, Home and End jump to the ends. The
// selected tab is the URL's hash (#allocator), so a reload or a shared link keeps it.

export function initTabs(tablist, onShow = () => {}) {
  const tabs = [...tablist.querySelectorAll('[role="tab"]')];
  const names = tabs.map((tab) => tab.dataset.tab);

  function select(tab, { focus = false, remember = true } = {}) {
    for (const other of tabs) {
      const chosen = other === tab;
      other.setAttribute("aria-selected", chosen ? "true" : "false");
      other.tabIndex = chosen ? 0 : -1;
      document.getElementById(other.getAttribute("aria-controls")).hidden = !chosen;
    }
    if (focus) tab.focus();
    // replaceState: switching tabs is not a page to go back to, and it does not scroll.
    if (remember) window.history.replaceState(null, "", `#${tab.dataset.tab}`);
    onShow(tab.dataset.tab);
  }

  function fromHash() {
    const index = names.indexOf(window.location.hash.slice(1));
    select(tabs[index < 0 ? 0 : index], { remember: index >= 0 });
  }

  tablist.addEventListener("click", (event) => {
    const tab = event.target.closest('[role="tab"]');
    if (tab) select(tab);
  });
  tablist.addEventListener("keydown", (event) => {
    const index = tabs.indexOf(document.activeElement);
    if (index < 0) return;
    const next = {
      ArrowRight: (index + 1) % tabs.length,
      ArrowLeft: (index - 1 + tabs.length) % tabs.length,
      Home: 0,
      End: tabs.length - 1,
    }[event.key];
    if (next === undefined) return;
    event.preventDefault();
    select(tabs[next], { focus: true });
  });
  window.addEventListener("hashchange", fromHash);
  fromHash();
}
