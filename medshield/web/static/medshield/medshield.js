// Page behaviour that would otherwise be inline script: the Content-Security-Policy
// (medshield/core/security.py) allows scripts from our own static files only.
(function () {
  "use strict";

  // The language menu applies as soon as a language is chosen (the <noscript> button does it
  // without JavaScript).
  function languageSelect() {
    var select = document.getElementById("language-select");
    if (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    }
  }

  // Asset list: choosing a building reloads the page so the floor list shows that building's
  // floors. Listening on the document also covers filter bars swapped in by htmx.
  function buildingReload() {
    if (window.medshieldBuildingReload) return;
    window.medshieldBuildingReload = true;
    document.addEventListener("change", function (event) {
      var target = event.target;
      if (target.matches && target.matches("#asset-filter select[data-reload]")) {
        event.stopPropagation();
        var params = new URLSearchParams(new FormData(target.form));
        params.delete("floor");
        window.location.search = params.toString();
      }
    }, true);
  }

  // Diagrams: pan and zoom on the Graphviz SVG (svg-pan-zoom is loaded by the diagram page).
  function diagramZoom() {
    var svg = document.querySelector("#diagram svg");
    if (!svg || !window.svgPanZoom || window.diagramZoom) return;
    svg.removeAttribute("width");
    svg.removeAttribute("height");
    svg.style.width = "100%";
    svg.style.height = "75vh";
    window.diagramZoom = window.svgPanZoom(svg, {
      controlIconsEnabled: true, zoomScaleSensitivity: 0.3, minZoom: 0.2, maxZoom: 40,
      fit: true, center: true
    });
  }

  function ready() {
    languageSelect();
    buildingReload();
    diagramZoom();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
