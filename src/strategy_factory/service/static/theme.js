// Runs before the first paint (a blocking script in <head>): apply the stored theme, or
// the system preference, so a dark-theme user never sees a light flash.
(function () {
  var theme = null;
  try {
    theme = window.localStorage.getItem("factory-theme");
  } catch (error) {
    theme = null;
  }
  if (theme !== "light" && theme !== "dark") {
    var dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
    theme = dark ? "dark" : "light";
  }
  document.documentElement.dataset.theme = theme;
})();
