// Places on the intake page: the address field searches the city's gazetteer while the call-taker types
// (arrows + Enter, or a click, pick a candidate), which sets the point and shows the owning station (the
// jurisdiction polygon that holds it). A click on the map (incidents.js fires "cc:pick" on the map) or typed
// coordinates ask for the nearest address and the station. Strings come from the page's data-t-* attributes.
(function () {
  "use strict";

  async function getJson(address) {
    const r = await CCDom.api(address);  // dom.js
    return r.ok ? r.data : null;
  }

  function bind(root) {
    const form = root.querySelector("form");
    const f = function (name) { return form.elements.namedItem(name); };
    const address = f("address");
    if (!address || !root.dataset.placesSearchUrl) return;
    const label = address.closest("label");
    label.classList.add("picker");
    address.setAttribute("role", "combobox");
    address.setAttribute("aria-expanded", "false");
    address.setAttribute("aria-controls", "address-options");
    const list = document.createElement("ul");
    list.id = "address-options"; list.className = "options"; list.setAttribute("role", "listbox"); list.hidden = true;
    label.appendChild(list);
    const station = document.createElement("p");
    station.className = "owning-station muted small"; station.setAttribute("role", "status"); station.hidden = true;
    label.insertAdjacentElement("afterend", station);

    let found = [];
    let active = -1;
    let seq = 0;  // a slow answer to an earlier keystroke never overwrites a later one

    function showStation(s, note) {
      station.hidden = false;
      station.classList.toggle("none", !s);
      station.textContent = (s ? root.dataset.tStation + " " + s.name : root.dataset.tNoStation) + (note ? " · " + note : "");
    }

    function close() { list.hidden = true; address.setAttribute("aria-expanded", "false"); active = -1; }

    function render() {
      list.replaceChildren();
      found.forEach(function (c, i) {
        const li = document.createElement("li");
        li.setAttribute("role", "option");
        li.dataset.index = String(i);
        if (i === active) { li.className = "active"; li.setAttribute("aria-selected", "true"); }
        const b = document.createElement("b"); b.textContent = c.name;
        li.appendChild(b);
        li.appendChild(document.createTextNode(" · " + (c.station ? c.station.name : root.dataset.tNoStation)));
        li.addEventListener("mousedown", function (e) { e.preventDefault(); choose(c); });
        list.appendChild(li);
      });
      list.hidden = !found.length;
      address.setAttribute("aria-expanded", found.length ? "true" : "false");
    }

    function setPoint(lat, lon) {
      for (const [name, v] of [["lat", lat], ["lon", lon]]) {
        f(name).value = String(v);
        f(name).dispatchEvent(new Event("input", { bubbles: true }));  // repeat hints
        f(name).dispatchEvent(new Event("change", { bubbles: true }));  // the map's pin
      }
    }

    function choose(c) {
      address.value = c.name;
      address.dispatchEvent(new Event("input", { bubbles: true }));
      close();
      setPoint(c.lat, c.lon);
      showStation(c.station);
    }

    const search = CCDom.debounce(async function () {
      const q = address.value.trim();
      const mine = ++seq;
      if (q.length < 2) { found = []; render(); return; }
      const rows = await getJson(root.dataset.placesSearchUrl + "?" + new URLSearchParams({ q: q, limit: "8" }));
      if (mine !== seq) return;
      found = rows || []; active = found.length ? 0 : -1;
      render();
    }, 150);

    address.addEventListener("input", function (e) { if (e.isTrusted) search(); });
    address.addEventListener("blur", close);
    address.addEventListener("keydown", function (e) {
      if (list.hidden || !found.length) return;
      if (e.key === "ArrowDown") { active = Math.min(active + 1, found.length - 1); render(); e.preventDefault(); }
      else if (e.key === "ArrowUp") { active = Math.max(active - 1, 0); render(); e.preventDefault(); }
      else if (e.key === "Enter" && !(e.ctrlKey || e.metaKey)) { choose(found[Math.max(active, 0)]); e.preventDefault(); }
      else if (e.key === "Escape") { close(); e.preventDefault(); }
    });

    async function reverse(lat, lon, fillAddress) {
      const c = await getJson(root.dataset.placesReverseUrl + "?" + new URLSearchParams({ lat: String(lat), lon: String(lon) }));
      if (String(f("lat").value) !== String(lat) || String(f("lon").value) !== String(lon)) return;  // moved on
      if (!c) { showStation(null); return; }
      if (fillAddress && !address.value.trim()) {
        address.value = c.name;
        address.dispatchEvent(new Event("input", { bubbles: true }));
      }
      showStation(c.station, root.dataset.tNearest + " " + c.name);
    }

    const mapEl = root.querySelector("#intake-map");
    if (mapEl) mapEl.addEventListener("cc:pick", function (e) { reverse(e.detail.lat, e.detail.lon, true); });
    for (const name of ["lat", "lon"]) {
      f(name).addEventListener("change", function (e) {
        if (e.isTrusted && f("lat").value && f("lon").value) reverse(f("lat").value, f("lon").value, false);
      });
    }
    form.addEventListener("reset", function () { found = []; render(); station.hidden = true; station.textContent = ""; });
  }

  function init() {
    for (const root of document.querySelectorAll("[data-intake]")) bind(root);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
