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
