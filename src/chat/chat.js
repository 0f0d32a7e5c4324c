(function () {
  "use strict";
  var log = document.getElementById("log");
  var form = document.getElementById("ask");
  var input = document.getElementById("q");
  var state = document.getElementById("state");
  var banners = document.getElementById("banners");
  var socket = null;
  var queue = [];
  var delay = 1000;
  var lang = new URLSearchParams(location.search).get("lang") === "en" ? "?lang=en" : "";

  function socketUrl() {
    var path = location.pathname.replace(/\/+$/, "") + "/ws";
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path + lang;
  }

  function add(cls, text) {
    var div = document.createElement("div");
    div.className = "msg " + cls;
    div.textContent = text;
    log.appendChild(div);
    log.scrollTop = log.scrollHeight;
    return div;
  }

  function send(message) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(message));
    } else {
      queue.push(message);
      connect();
    }
  }

  function disableIn(container) {
    container.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
  }

  function feedbackButtons(div, id) {
    var box = document.createElement("div");
    box.className = "feedback";
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", "この回答は役に立ちましたか");
    [["役に立った", true], ["役に立たなかった", false]].forEach(function (pair) {
      var b = document.createElement("button");
      b.type = "button";
      b.textContent = pair[0];
      b.addEventListener("click", function () {
        disableIn(box);
        send({ helpful: pair[1], id: id });
      });
      box.appendChild(b);
    });
    div.appendChild(box);
  }

  function showAnswer(m) {
    var div = add("bot", m.answer);
    div.dataset.kind = m.kind;
    if (m.entry_id) { div.dataset.entry = m.entry_id; }
    if (m.department) {
      var meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = "担当: " + m.department;
      div.appendChild(meta);
    }
    if (m.link && /^https?:\/\//.test(m.link)) {
      var a = document.createElement("a");
      a.className = "meta";
      a.href = m.link;
      a.rel = "noopener";
      a.target = "_blank";
      a.textContent = "詳しい情報（市のホームページ）";
      div.appendChild(a);
    }
    if (m.kind === "candidates" && m.candidates.length) {
      var box = document.createElement("div");
      box.className = "choices";
      box.setAttribute("role", "group");
      box.setAttribute("aria-label", "候補");
      m.candidates.forEach(function (c, i) {
        var b = document.createElement("button");
        b.type = "button";
        b.textContent = (i + 1) + ". " + c.question;
        b.dataset.entry = c.id;
        b.addEventListener("click", function () {
          disableIn(box);
          add("me", c.question);
          send({ entry_id: c.id, id: m.id });
        });
        box.appendChild(b);
      });
      var none = document.createElement("button");
      none.type = "button";
      none.textContent = "どれでもない";
      none.addEventListener("click", function () {
        disableIn(box);
        send({ helpful: false, id: m.id });
      });
      box.appendChild(none);
      div.appendChild(box);
    } else if (m.kind === "answer") {
      feedbackButtons(div, m.id);
    }
  }

  var shownEmergencies = {};

  function safetyButtons(box, m) {
    var group = document.createElement("div");
    group.className = "safety";
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "安否のお知らせ");
    m.choices.forEach(function (c) {
      var b = document.createElement("button");
      b.type = "button";
      b.textContent = c.label;
      b.dataset.answer = c.answer;
      b.addEventListener("click", function () {
        disableIn(group);
        b.setAttribute("aria-pressed", "true");
        send({ emergency: m.id, answer: c.answer });
      });
      group.appendChild(b);
    });
    box.appendChild(group);
  }

  function showSafety(m) {
    var box = banners.querySelector('.banner.emergency[data-id="' + m.emergency + '"]');
    var p = document.createElement("p");
    p.className = "safety-result";
    p.textContent = m.message;
    (box || log).appendChild(p);
  }

  function showBanner(m) {
    if (m.type === "emergency" && m.id != null) {
      if (shownEmergencies[m.id]) { return; }
      shownEmergencies[m.id] = true;
    }
    var box = document.createElement("section");
    box.className = "banner " + (m.type === "emergency" ? "emergency" : "notice");
    box.setAttribute("role", m.type === "emergency" ? "alert" : "status");
    var h = document.createElement("h2");
    h.textContent = (m.type === "emergency" ? "【緊急】" : "【お知らせ】") + (m.title || "");
    var p = document.createElement("p");
    var body = m.body;
    if (body && typeof body === "object") { body = body.ja || Object.values(body)[0] || ""; }
    p.textContent = body || "";
    box.appendChild(h);
    box.appendChild(p);
    if (m.type === "emergency") {
      box.dataset.id = m.id;
      if (m.choices && m.choices.length) { safetyButtons(box, m); }
    }
    if (m.type === "emergency") { banners.insertBefore(box, banners.firstChild); } else { banners.appendChild(box); }
  }

  function onMessage(event) {
    var m;
    try { m = JSON.parse(event.data); } catch (e) { return; }
    if (m.type === "answer") { showAnswer(m); }
    else if (m.type === "feedback") { add("bot", m.message); }
    else if (m.type === "safety") { showSafety(m); }
    else if (m.type === "notice" || m.type === "emergency") { showBanner(m); }
    else if (m.type === "error") { add("bot", m.error); }
  }

  // The hub closes a socket that sends nothing for a while (code 4000): a visible page says it is still there
  // every few minutes, so it keeps receiving emergency banners; a hidden one reconnects when shown again.
  var IDLE_CLOSE = 4000;
  var idleClosed = false;
  setInterval(function () {
    if (document.visibilityState === "visible" && socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ ping: true }));
    }
  }, 240000);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && idleClosed) { connect(); }
  });

  function connect() {
    if (socket && (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING)) { return; }
    idleClosed = false;
    var opened = false;
    socket = new WebSocket(socketUrl());
    socket.addEventListener("open", function () {
      opened = true;
      delay = 1000;
      state.textContent = "";
      document.body.dataset.connected = "true";
      while (queue.length) { socket.send(JSON.stringify(queue.shift())); }
    });
    socket.addEventListener("message", onMessage);
    socket.addEventListener("close", function (event) {
      document.body.dataset.connected = "false";
      if (event.code === IDLE_CLOSE) {
        idleClosed = true;
        state.textContent = "しばらく操作がなかったため接続を休止しました。質問を送ると再開します。";
        return;
      }
      state.textContent = opened
        ? "接続が切れました。再接続しています…"
        : "ただいま接続できません（混み合っているか、開いている画面が多すぎます）。しばらくして自動で再接続します。";
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) { return; }
    add("me", text);
    send({ text: text });
    input.value = "";
    input.focus();
  });

  connect();
})();
