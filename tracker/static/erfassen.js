// The assessment form's live preview: the level and whether it is provisional, as the criteria
// are chosen. Progressive enhancement: without this script the form's "Vorschau" button asks
// the server. The table is the server's (maturity/rules.py scoring_table); the rule is score's.
(function () {
  "use strict";
  var table = document.getElementById("scoring-table");
  var out = document.getElementById("live-preview");
  if (!table || !out) return;
  var scoring = JSON.parse(table.textContent);
  var names = {};
  scoring.levels.forEach(function (level) { names[level.level] = level.name; });

  function scored() {
    var rated = [];
    var missing = [];
    scoring.criteria.forEach(function (criterion) {
      var field = document.getElementById("c_" + criterion.key);
      var value = field ? field.value : "";
      if (value === "") {
        if (!criterion.optional) missing.push(criterion.name);
      } else if (value !== scoring.not_required) {
        rated.push(parseInt(value, 10));
      }
    });
    if (!rated.length) return null;
    return { level: Math.min.apply(null, rated), missing: missing };
  }

  function show() {
    var result = scored();
    var text;
    out.textContent = "";
    var heading = document.createElement("strong");
    heading.textContent = out.dataset.heading + ": ";
    out.appendChild(heading);
    if (result === null) {
      text = out.dataset.none;
      out.dataset.result = "";
    } else {
      text = out.dataset.level + " " + result.level + " – " + (names[result.level] || "");
      if (result.missing.length) {
        text += " · " + out.dataset.provisional + " (" + out.dataset.missing + ": " +
          result.missing.join(", ") + ")";
      } else {
        text += " · " + out.dataset.final;
      }
      out.dataset.result = result.level + (result.missing.length ? " provisional" : "");
    }
    out.appendChild(document.createTextNode(text));
    out.hidden = false;
  }

  scoring.criteria.forEach(function (criterion) {
    var field = document.getElementById("c_" + criterion.key);
    if (field) field.addEventListener("change", show);
  });
  show();
})();

// The LeiKa picker: as a name or number is typed, the Gemeinde's counted LeiKa services that
// match (or those of the OZG-Leistung chosen) join the list, each under its OZG-Leistung.
(function () {
  "use strict";
  var input = document.getElementById("leistung");
  var list = document.getElementById("leistungen");
  if (!input || !list || !input.dataset.leikaUrl || !window.fetch) return;
  var timer = null;
  var asked = "";

  function parentOf(ozgId) {
    return list.querySelector('option[data-ozg="' + ozgId + '"]');
  }

  function fill(items) {
    list.querySelectorAll("option.leika").forEach(function (option) { option.remove(); });
    var after = {};
    items.forEach(function (item) {
      var option = document.createElement("option");
      option.className = "leika";
      option.value = item.leika_key + " " + item.name;
      option.label = "LeiKa · " + item.ozg_id + " " + item.ozg_name;
      var anchor = after[item.ozg_id] || parentOf(item.ozg_id);
      if (anchor) anchor.after(option); else list.appendChild(option);
      after[item.ozg_id] = option;
    });
    input.dataset.leikaShown = String(items.length);
  }

  function ask() {
    var text = input.value.trim();
    var key = text.split(" ")[0];
    if (/^[0-9]{14}$/.test(key)) return;  // a LeiKa service chosen: keep the list
    var query = parentOf(key) ? "ozg_id=" + encodeURIComponent(key)
                              : "q=" + encodeURIComponent(text);
    if (text.length < 3 || query === asked) return;
    asked = query;
    fetch(input.dataset.leikaUrl + "?" + query, { headers: { Accept: "application/json" } })
      .then(function (answer) { return answer.ok ? answer.json() : { items: [] }; })
      .then(function (found) { if (asked === query) fill(found.items); })
      .catch(function () { /* the list stays as the server made it */ });
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(ask, 250);
  });
})();
