// The volunteer's page (平安义警), phone-sized: report a hazard or a clue with photos and a place (the phone's
// GPS, asked with permission, or a pick on the map), then the list of their own reports with the station's
// outcome, and their points. POST /api/community/reports/ (multipart); GET the same for their own; GET
// /api/community/points/.
(function () {
  "use strict";

  const h = CCDom.h;

  function start(root) {
    const L10N = CCDom.readJson("community-labels");
    const t = L10N.t || {};
    const categories = CCDom.readJson("community-categories") || [];
    const ds = root.dataset;
    const form = root.querySelector(".cv-form");
    const select = form.querySelector("select[name=category]");
    const where = form.querySelector(".cv-where");
    const errors = form.querySelector(".cv-errors");
    let place = null; // {lat, lon, accuracy_m, located_by}
    let marker = null;
    let map = null;

    function kind() { return form.querySelector("input[name=kind]:checked").value; }
    function fillCategories() {
      select.replaceChildren(...categories.filter(function (c) { return c.kind === kind(); })
        .map(function (c) { return h("option", { value: c.code, text: c.name }); }));
    }
    for (const r of form.querySelectorAll("input[name=kind]")) r.addEventListener("change", fillCategories);
    fillCategories();

    function setPlace(p) {
      place = p;
      where.textContent = t.located + ": " + p.lat.toFixed(5) + ", " + p.lon.toFixed(5) +
        (p.accuracy_m != null ? " (±" + Math.round(p.accuracy_m) + " m)" : "");
      if (map) {
        if (marker) marker.setLatLng([p.lat, p.lon]); else marker = L.marker([p.lat, p.lon]).addTo(map);
        map.panTo([p.lat, p.lon]);
      }
    }

    const mapEl = root.querySelector(".cv-map");
    if (window.CCMap && window.L && mapEl) {
      map = CCMap.create(mapEl, { center: [parseFloat(ds.lat), parseFloat(ds.lon)], zoom: 15, tileUrl: ds.tileUrl });
      map.on("click", function (e) { setPlace({ lat: e.latlng.lat, lon: e.latlng.lng, accuracy_m: null, located_by: "map" }); });
    }

    form.querySelector(".cv-gps").addEventListener("click", function () {
      if (!navigator.geolocation) { where.textContent = t.no_gps; return; }
      navigator.geolocation.getCurrentPosition(function (pos) {
        setPlace({ lat: pos.coords.latitude, lon: pos.coords.longitude, accuracy_m: pos.coords.accuracy, located_by: "gps" });
      }, function () { where.textContent = t.no_gps; }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });

    form.addEventListener("submit", async function (e) {
      e.preventDefault();
      errors.textContent = "";
      const fd = new FormData();
      fd.append("kind", kind());
      fd.append("category", select.value);
      fd.append("text", form.elements.text.value);
      fd.append("address", form.elements.address.value);
      fd.append("anonymous_to_public", form.elements.anonymous_to_public.checked ? "true" : "false");
      if (place) {
        fd.append("lat", String(place.lat));
        fd.append("lon", String(place.lon));
        if (place.accuracy_m != null) fd.append("accuracy_m", String(place.accuracy_m));
        fd.append("located_by", place.located_by);
      }
      for (const f of form.elements.photos.files) fd.append("photos", f);
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      const res = await postForm(ds.reportsUrl, fd);
      button.disabled = false;
      if (!res.ok) { errors.textContent = t.failed + ": " + CCDom.errorText(res.data); return; }
      form.reset();
      fillCategories();
      place = null;
      if (marker && map) { map.removeLayer(marker); marker = null; }
      where.textContent = t.sent;
      load();
    });

    async function postForm(url, fd) {
      const csrf = CCDom.csrf;  // multipart, so not CCDom.api's JSON; the same token header
      let r;
      try {
        r = await fetch(url, { method: "POST", headers: { "X-CSRFToken": csrf(), Accept: "application/json" }, credentials: "same-origin", body: fd });
      } catch (err) {
        return { ok: false, status: 0, data: null };
      }
      let data = null;
      try { data = await r.json(); } catch (err) { data = null; }
      return { ok: r.ok, status: r.status, data: data };
    }

    function item(r) {
      return h("li", { class: "cv-item", dataset: { state: r.state, report: String(r.id) } }, [
        h("div", { class: "cv-meta" }, [r.kind_label + " · " + r.category_label + " · " + CCFmt.when(r.submitted_at)]),
        h("p", { class: "cv-text", text: r.text }),
        h("strong", { class: "cv-state", text: r.state_label }),
        r.reason ? h("span", { class: "cv-meta", text: " · " + r.reason }) : null,
        r.photos.length ? h("div", { class: "cv-meta" }, r.photos.map(function (u, i) { return h("a", { href: u, target: "_blank", text: t.photos + " " + (i + 1) + " " }); })) : null,
      ]);
    }

    async function load() {
      const res = await CCDom.api(ds.reportsUrl);
      const list = root.querySelector(".cv-list");
      const rows = CCDom.results(res.data);
      list.replaceChildren(...(rows.length ? rows.map(item) : [h("li", { class: "cv-meta", text: t.nothing })]));
      const pts = await CCDom.api(ds.pointsUrl);
      if (pts.ok) root.querySelector("[data-points]").textContent = String(pts.data.points);
    }
    load();
  }

  document.addEventListener("DOMContentLoaded", function () {
    const root = document.querySelector("[data-community-volunteer]");
    if (root) start(root);
  });
})();
