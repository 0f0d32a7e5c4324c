// The subscribe button of /register: registers the service worker, subscribes with the city's VAPID key and
// puts the subscription into the form, which then posts it with the resident's choices.
(function () {
  "use strict";
  var button = document.getElementById("push-button");
  var field = document.getElementById("push");
  var status = document.getElementById("push-status");
  if (!button || !field) {
    return;
  }
  // What went wrong, in the page's language (the page puts the catalogue's wording on the button), never the
  // browser's own English error.
  function explain(kind) {
    if (status) {
      status.textContent = button.getAttribute("data-" + kind) || "";
      status.classList.add("problem");
      status.hidden = false;
    }
  }
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    button.disabled = true;
    explain("unsupported");
    return;
  }
  if (Notification.permission === "denied") {
    explain("denied");
  }
  function keyBytes(base64url) {
    var padded = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(padded);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) {
      bytes[i] = raw.charCodeAt(i);
    }
    return bytes;
  }
  button.addEventListener("click", function () {
    button.disabled = true;
    navigator.serviceWorker.register("/sw.js")
      .then(function () { return navigator.serviceWorker.ready; })
      .then(function (registration) {
        return fetch("/push/vapid-public-key")
          .then(function (response) { return response.json(); })
          .then(function (key) {
            return registration.pushManager.subscribe({
              userVisibleOnly: true,
              applicationServerKey: keyBytes(key.public_key)
            });
          });
      })
      .then(function (subscription) {
        field.value = JSON.stringify(subscription.toJSON());
        if (status) {
          status.textContent = button.getAttribute("data-ready") || status.textContent;
          status.classList.remove("problem");
          status.hidden = false;
        }
      })
      .catch(function () {
        button.disabled = false;
        explain(Notification.permission === "denied" ? "denied" : "failed");
      });
  });
})();
