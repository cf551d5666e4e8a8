/* kbgen site behaviour. Plain script, no build step, no dependencies.
 *
 * 1. Severity made visible: a finding's details are collapsed (compact pages with hundreds of
 *    findings), so its severity is repeated as a coloured badge in the head line, and
 *    "Severity" columns of index tables are coloured. Colours come from kbgen.css (light and
 *    dark palettes); the text stays, so nothing depends on colour alone.
 * 2. Long paths in table cells may wrap after each "/" (a <wbr> there), and code inside a
 *    cell's prose anywhere, so registries fit the article's width instead of clipping their last
 *    columns.
 * 3. The search page (kbgen-search.j2) uses Pagefind's chunked index when the build made one
 *    and the page is served over HTTP; otherwise it loads Sphinx's searchindex.js and lets
 *    Sphinx's search run, exactly as a plain Sphinx site would. Pagefind's UI loads Pagefind
 *    through kbgen's entry module (_static/kbgen-pagefind/pagefind.js), which adds the stack of
 *    delta bundles, one per build since the main bundle was written. A Pagefind hit inside a need
 *    (each need's head line is a heading with the need's id: kbgen.sphinxext.searchable) is
 *    shown as that need — its head line, its text, a link to its anchor — not as the page.
 */
(function () {
  "use strict";

  var SEVERITIES = ["critical", "high", "medium", "low", "info"];

  function severityOf(text) {
    var value = (text || "").trim().toLowerCase();
    return SEVERITIES.indexOf(value) >= 0 ? value : null;
  }

  //: a question's status, shown like a severity: open questions stand out, answered ones recede
  var QUESTION_STATUS = { open: "high", inferred: "info", answered: "low" };

  function addBadge(table, text, level) {
    var title = table.querySelector("td.need.head .needs_title");
    if (!title || table.querySelector(".kb-sev-badge")) return;
    var badge = document.createElement("span");
    badge.className = "kb-sev-badge kb-sev-" + level;
    badge.textContent = text.toUpperCase();
    title.parentNode.insertBefore(badge, title);
  }

  function markNeeds() {
    document.querySelectorAll("table.need").forEach(function (table) {
      var data = table.querySelector(".needs_severity .needs_data");
      var severity = data && severityOf(data.textContent);
      if (severity) {
        table.classList.add("kb-sev-" + severity);
        addBadge(table, severity, severity);
        return;
      }
      if (!table.classList.contains("needs_type_question")) return;
      var status = table.querySelector(".needs_status .needs_data");
      var value = status && status.textContent.trim().toLowerCase();
      // An explicit answer that says it is partial ("answer: partial") is only partly an answer.
      var answer = table.querySelector(".needs_answer .needs_data");
      if (value === "answered" && answer && answer.textContent.trim().toLowerCase() === "partial") {
        addBadge(table, "partly answered", "medium");
        return;
      }
      if (value && QUESTION_STATUS[value]) addBadge(table, value, QUESTION_STATUS[value]);
    });
  }

  function markSeverityColumns() {
    document.querySelectorAll(".bd-article table:not(.need), .body table:not(.need)").forEach(function (table) {
      var headers = table.querySelectorAll("thead th");
      for (var i = 0; i < headers.length; i++) {
        if (headers[i].textContent.trim().toLowerCase() !== "severity") continue;
        table.querySelectorAll("tbody > tr").forEach(function (row) {
          var cell = row.children[i];
          var severity = cell && severityOf(cell.textContent);
          if (severity) cell.classList.add("kb-sev-text", "kb-sev-" + severity);
        });
      }
    });
  }

  function breakablePaths() {
    document.querySelectorAll(".bd-article table:not(.need) td code").forEach(function (code) {
      var cell = code.closest("td");
      if (cell && cell.textContent.trim() !== code.textContent.trim()) code.classList.add("kb-code-in-text");
      var walker = document.createTreeWalker(code, NodeFilter.SHOW_TEXT);
      var texts = [];
      while (walker.nextNode()) texts.push(walker.currentNode);
      texts.forEach(function (text) {
        var parts = text.nodeValue.split(/(?<=[\/\\])(?=.)/);
        if (parts.length < 2) return;
        var fragment = document.createDocumentFragment();
        parts.forEach(function (part, i) {
          if (i) fragment.appendChild(document.createElement("wbr"));
          fragment.appendChild(document.createTextNode(part));
        });
        text.parentNode.replaceChild(fragment, text);
      });
    });
  }

  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = src;
      script.onload = resolve;
      script.onerror = reject;
      document.head.appendChild(script);
    });
  }

  function loadCss(href) {
    var link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = href;
    document.head.appendChild(link);
  }

  function sphinxSearch(config) {
    // searchtools.js declares `const Search` at the top level: a global binding, not a window property.
    var search = typeof Search !== "undefined" ? Search : null;  // eslint-disable-line no-undef
    if (search && search.loadIndex) search.loadIndex(config.sphinxIndex);
  }

  //: need IDs (kbgen.needs_model.ID_REGEX)
  var NEED_ID = /^(S\d+|Q\d+-(\d+(-\d+)?|N\d+)|F\d+|FILE\d+|D-[A-Z0-9][A-Z0-9-]*)$/;

  //: [query words matched, weighted score] of a sub-result: the one matching most of the query wins
  function hitScore(sub, words) {
    var seen = {};
    (sub.locations || []).forEach(function (i) {
      var word = (words[i] || "").toLowerCase().replace(/[^\p{L}\p{N}]+/gu, "");
      if (word) seen[word] = true;
    });
    var weight = (sub.weighted_locations || []).reduce(function (sum, l) { return sum + (l.balanced_score || 0); }, 0);
    return [Object.keys(seen).length, weight];
  }

  function better(a, b) {
    return a[0] !== b[0] ? a[0] > b[0] : a[1] > b[1];
  }

  // Pagefind indexes "src/telemetry.ts" or "memory_size(4" as one joined word and as its parts, so a
  // query for a part with its punctuation ("telemetry.ts", "memory_size") matched nothing: a query
  // word is split where punctuation joins letters or digits, and its parts are looked up together.
  function splitIdentifiers(term) {
    return term.replace(/([\p{L}\p{N}])[._\/\\:()\[\]<>]+(?=[\p{L}\p{N}])/gu, "$1 ");
  }

  function landOnNeed(result) {
    var subs = Array.isArray(result.sub_results) ? result.sub_results : [];
    var words = (result.content || "").split(/\s+/);
    var best = null, bestScore = null, other = null;
    subs.forEach(function (sub) {
      var score = hitScore(sub, words);
      if (sub.anchor && NEED_ID.test(sub.anchor.id || "")) {
        if (!best || better(score, bestScore)) { best = sub; bestScore = score; }
      } else if (!other || better(score, other)) {
        other = score;
      }
    });
    // A need that matches the query best stands for the page; a page whose title or prose matches
    // better (a query for "Traceability") stays the page.
    if (!best || (other && better(other, bestScore))) return result;
    var url = result.meta && result.meta.url || result.url;
    result.url = best.url;
    result.meta = Object.assign({}, result.meta, { url: best.url, title: best.title });
    result.excerpt = best.excerpt;
    // The UI lists sub-results after the first when the first is the result itself.
    result.sub_results = [best].concat(subs.filter(function (sub) { return sub !== best && sub.url !== url; }));
    return result;
  }

  function pagefindSearch(config) {
    var bundle = new URL(config.pagefind, window.location.href);
    var probe = window.location.protocol.indexOf("http") === 0
      ? fetch(new URL("pagefind-ui.js", bundle), { method: "HEAD" }).then(function (r) { return r.ok; })
      : Promise.resolve(false);  // file:// pages cannot fetch the index chunks
    return probe.catch(function () { return false; }).then(function (ok) {
      if (!ok) return false;
      loadCss(new URL("pagefind-ui.css", bundle).href);
      return loadScript(new URL("pagefind-ui.js", bundle).href).then(function () {
        var host = document.getElementById("kbgen-pagefind");
        document.getElementById("kbgen-sphinx-search").hidden = true;
        document.getElementById("search-results").hidden = true;
        host.hidden = false;
        var entry = config.pagefindEntry ? new URL(config.pagefindEntry, window.location.href) : bundle;
        var ui = new window.PagefindUI({
          element: "#kbgen-pagefind",
          bundlePath: entry.pathname,
          showSubResults: true,
          showImages: false,
          resetStyles: false,
          autofocus: true,
          excerptLength: 40,
          processResult: landOnNeed,
          processTerm: splitIdentifiers,
          translations: { placeholder: "Search findings, files, questions, labels…" }
        });
        var query = new URLSearchParams(window.location.search).get("q");
        if (query) ui.triggerSearch(query);
        return true;
      });
    }).catch(function () { return false; });
  }

  function setupSearch() {
    var config = window.KBGEN_SEARCH;
    if (!config) return;
    pagefindSearch(config).then(function (usedPagefind) {
      document.documentElement.dataset.kbgenSearch = usedPagefind ? "pagefind" : "sphinx";
      if (!usedPagefind) sphinxSearch(config);
    });
  }

  // A table box taller than the screen scrolls inside itself (kbgen.css): while rows are hidden
  // below the visible ones, the box is marked and shows a shadow along its bottom edge.
  function scrollCues() {
    document.querySelectorAll(".bd-article .pst-scrollable-table-container").forEach(function (box) {
      if (!box.querySelector(":scope > table:not(.need)")) return;
      function update() {
        box.classList.toggle("kb-more-below", box.scrollTop + box.clientHeight < box.scrollHeight - 1);
      }
      box.addEventListener("scroll", update, { passive: true });
      window.addEventListener("resize", update);
      update();
    });
  }

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  ready(function () {
    markNeeds();
    markSeverityColumns();
    breakablePaths();
    scrollCues();
    setupSearch();
  });
})();
