(function () {
  "use strict";
  var main = document.getElementById("checkout");
  var root = document.documentElement;
  var skew = Number(main.dataset.now) - Date.now();
  var leaving = false, polling = null, failures = 0;
  function two(n) { return (n < 10 ? "0" : "") + n; }
  function tick() {
    var el = document.getElementById("countdown");
    if (!el) return;
    var left = Math.max(0, Math.floor((Number(el.dataset.expires) - Date.now() - skew) / 1000));
    el.textContent = two(Math.floor(left / 60)) + ":" + two(left % 60);
  }
  function buttons() {
    var all = document.querySelectorAll("button[data-copy]");
    for (var i = 0; i < all.length; i++) all[i].hidden = !navigator.clipboard;
  }
  document.addEventListener("click", function (e) {
    var b = e.target.closest && e.target.closest("button[data-copy]");
    if (!b) return;
    navigator.clipboard.writeText(b.dataset.copy).then(function () {
      b.textContent = main.dataset.copied;
      setTimeout(function () { b.textContent = b.dataset.label; }, 2000);
    });
  });
  function leave() {
    var to = main.dataset.redirect;
    if (leaving || !to || root.dataset.status !== "paid") return;
    leaving = true;
    setTimeout(function () { window.location.assign(to); }, 3000);
  }
  function connection(text) {
    var el = document.getElementById("connection");
    el.textContent = text || "";
    el.hidden = !text;
  }
  var loading = false, again = false;
  function load() {
    if (loading) { again = true; return; }
    loading = true;
    fetch(window.location.href, { cache: "no-store", credentials: "omit" }).then(function (r) {
      return r.ok ? r.text() : null;
    }).then(function (html) {
      if (!html) return;
      // Only the markup is wanted: its style and script carry another response's nonce.
      html = html.replace(/<(style|script)\b[\s\S]*?<\/\1>/g, "");
      var fresh = new DOMParser().parseFromString(html, "text/html");
      var top = fresh.documentElement;
      document.getElementById("status").innerHTML = fresh.getElementById("status").innerHTML;
      document.getElementById("body").replaceWith(fresh.getElementById("body"));
      root.dataset.status = top.dataset.status;
      root.dataset.digest = top.dataset.digest;
      buttons(); tick(); leave();
    }).catch(function () {}).then(function () {
      loading = false;
      if (again) { again = false; load(); }
    });
  }
  function news(state) {
    connection("");
    if (state.digest !== root.dataset.digest) load();
  }
  function poll() {
    if (polling) return;
    polling = setInterval(function () {
      fetch(main.dataset.poll, { cache: "no-store", credentials: "omit" }).then(function (r) {
        return r.ok ? r.json() : null;
      }).then(function (s) { if (s) news(s); }).catch(function () {});
    }, 5000);
  }
  if (window.EventSource) {
    var source = new EventSource(main.dataset.events);
    source.addEventListener("state", function (e) { failures = 0; news(JSON.parse(e.data)); });
    source.onerror = function () {
      failures += 1;
      if (source.readyState === 2 || failures > 3) { source.close(); poll(); }
      else connection(main.dataset.reconnecting);
    };
  } else {
    poll();
  }
  buttons(); tick(); leave();
  setInterval(tick, 1000);
})();
