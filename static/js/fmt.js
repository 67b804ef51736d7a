/* Times a person reads, in the server's zone (settings.TIME_ZONE, sent as #cc-time-zone by base.html), not
   the browser's: a desk whose machine is set to another zone must still read the city's clock.
   CCFmt.time(iso) "14:05:09"; CCFmt.when(iso) "03-07 14:05"; CCFmt.date(date, lang) the long date. */
(function () {
  "use strict";

  let zoneName = null;
  function zone() {
    if (zoneName) return zoneName;
    const el = document.getElementById("cc-time-zone");
    try { zoneName = (el && JSON.parse(el.textContent)) || "Asia/Shanghai"; } catch (e) { zoneName = "Asia/Shanghai"; }
    return zoneName;
  }

  let partsFormat = null;
  function parts(value) {
    const d = value instanceof Date ? value : new Date(value);
    if (value === null || value === undefined || value === "" || !isFinite(d)) return null;
    if (!partsFormat) {
      partsFormat = new Intl.DateTimeFormat("en-GB", {
        timeZone: zone(), hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
        hour: "2-digit", minute: "2-digit", second: "2-digit",
      });
    }
    const out = {};
    for (const p of partsFormat.formatToParts(d)) if (p.type !== "literal") out[p.type] = p.value;
    return out;
  }
  function time(value) {
    const p = parts(value);
    return p ? p.hour + ":" + p.minute + ":" + p.second : "";
  }
  function when(value) {
    const p = parts(value);
    return p ? p.month + "-" + p.day + " " + p.hour + ":" + p.minute : "";
  }
  function date(value, lang) {
    const d = value instanceof Date ? value : new Date(value);
    if (!isFinite(d)) return "";
    return d.toLocaleDateString(lang || document.documentElement.lang || "zh-CN",
      { timeZone: zone(), year: "numeric", month: "long", day: "numeric", weekday: "long" });
  }

  // Words that arrive as data: a code table row ({name, name_en}) and a clock kind's label, in the page's
  // language (a push was built in the language of whoever caused it).
  function english() { return /^en/.test(document.documentElement.lang || ""); }
  function localName(row) {
    if (!row) return "";
    return (english() && row.name_en) || row.name || "";
  }
  let clockLabels = null;
  function clockLabel(kind, fallback) {
    if (!clockLabels) {
      const el = document.getElementById("cc-clock-labels");
      try { clockLabels = (el && JSON.parse(el.textContent)) || {}; } catch (e) { clockLabels = {}; }
    }
    return clockLabels[kind] || fallback || kind || "";
  }

  window.CCFmt = {
    zone: zone, parts: parts, time: time, when: when, date: date,
    english: english, localName: localName, clockLabel: clockLabel,
  };
})();
