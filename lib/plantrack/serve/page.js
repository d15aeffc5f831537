// The dashboard page's own script (added to Voilà's template by serve/server.py).
// The kernel cannot run JavaScript in the page, so the app writes its view into a hidden
// element (.pt-view-state: query, language, title) and this script makes the page follow it:
// the address (history.replaceState), <html lang>, the tab title and the remembered language.
// It also localizes Voilà's loading text, and turns a click on an indicator link into a choice
// in the indicator list (the link itself is the deep link, for a new tab or without script).
(function () {
  "use strict";
  var WORDS = __WORDS__;               // {lang: {title, loading, button}} from the catalogue
  var KEY = "plantrack.lang";
  var params = new URLSearchParams(window.location.search);
  var stored = null;
  try { stored = window.localStorage.getItem(KEY); } catch (e) { /* storage blocked: no memory */ }
  var asked = WORDS[params.get("lang")] ? params.get("lang") : null;
  var lang = asked || (WORDS[stored] ? stored : "zh");
  document.documentElement.lang = lang;
  document.title = WORDS[lang].title;

  // Voilà's "Running summary..." / "Executing 1 of 2": the loading text in the reader's language.
  var proc;
  Object.defineProperty(window, "voila_process", {
    configurable: true,
    get: function () { return proc; },
    set: function (f) { proc = function (i, n) { return f(i, n, WORDS[lang].loading); }; }
  });

  var seen = "", restored = false;
  function follow() {
    var text = document.getElementById("loading_text");
    if (text && text.textContent !== WORDS[lang].loading) { text.textContent = WORDS[lang].loading; }
    var app = document.querySelector(".pt-app");
    if (app && !app.hasAttribute("role")) {
      app.setAttribute("role", "main");
      app.id = "pt-main";
    }
    document.querySelectorAll(".pt-lang button").forEach(function (b) {
      var l = b.textContent.trim() === WORDS.zh.button ? "zh" : "en";
      if (b.lang !== l) { b.lang = l; }
    });
    var view = document.querySelector(".pt-view-state");
    if (!view) { return; }
    // A reader who chose a language before, opening an address that names none: switch to it
    // once the language buttons are on the page (until then the view is left as it is).
    if (!restored) {
      var viewLang = view.getAttribute("data-lang");
      if (!asked && WORDS[stored] && stored !== viewLang) {
        var buttons = document.querySelectorAll(".pt-lang button");
        for (var i = 0; i < buttons.length; i++) {
          if (buttons[i].textContent.trim() === WORDS[stored].button) {
            restored = true;
            buttons[i].click();
            return;
          }
        }
        return;
      }
      restored = true;
    }
    var state = view.getAttribute("data-query") + "|" + view.getAttribute("data-lang") + "|" + view.getAttribute("data-title");
    if (state === seen) { return; }
    seen = state;
    lang = view.getAttribute("data-lang") || lang;
    document.documentElement.lang = lang;
    if (app) { app.setAttribute("aria-label", WORDS[lang].title); }
    document.title = view.getAttribute("data-title") || WORDS[lang].title;
    var query = view.getAttribute("data-query");
    var url = window.location.pathname + (query ? "?" + query : "") + window.location.hash;
    if (url !== window.location.pathname + window.location.search + window.location.hash) {
      window.history.replaceState(null, "", url);
    }
    try { window.localStorage.setItem(KEY, lang); } catch (e) { /* storage blocked */ }
  }
  new MutationObserver(follow).observe(document.documentElement, {childList: true, subtree: true, attributes: true,
                                                                   attributeFilter: ["data-query", "data-lang"]});

  // Click-to-drill: an indicator link (or anywhere on its table row) opens its details.
  document.addEventListener("click", function (event) {
    if (event.defaultPrevented || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) {
      return;                                       // a new tab or window: the link's own address
    }
    var target = event.target;
    if (!target || !target.closest) { return; }
    var link = target.closest("a[data-drill]");
    var row = link ? null : target.closest(".pt-targets tr[data-indicator]");
    if (!link && !row) { return; }
    if (row && target.closest("a,button,input,select")) { return; }
    link = link || row.querySelector("a[data-drill]");
    var label = link && link.getAttribute("data-drill-label");
    var select = document.querySelector(".pt-indicator select");
    if (!select || !label) { return; }
    // The list's options carry their labels (ipywidgets sends labels, not ids).
    var index = Array.prototype.findIndex.call(select.options, function (o) { return o.value === label; });
    if (index < 0) { return; }
    event.preventDefault();
    select.selectedIndex = index;
    select.dispatchEvent(new Event("change", {bubbles: true}));
    var heading = document.getElementById("pt-card-h");
    if (heading) {
      heading.setAttribute("tabindex", "-1");
      heading.scrollIntoView({block: "start"});
      heading.focus({preventScroll: true});
    }
  }, true);
})();
