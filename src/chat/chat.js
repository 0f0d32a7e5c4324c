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
  // The page's words, in its language, from the hub's catalogue (data- attributes of <body>).
  var words = document.body.dataset;
  var lang = words.lang || "ja";

  function socketUrl() {
    var path = location.pathname.replace(/\/+$/, "") + "/ws";
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path + "?lang=" + encodeURIComponent(lang);
  }

  // Brings a whole message (its text and its buttons) into view above the input: called once the message is
  // complete, after the layout has taken its buttons into account.
  function reveal(div) {
    requestAnimationFrame(function () {
      var bottom = div.offsetTop + div.offsetHeight - log.offsetTop;
      var top = div.offsetTop - log.offsetTop;
      // A message taller than the log shows from its start; otherwise its end sits at the log's bottom.
      if (div.offsetHeight > log.clientHeight) {
        log.scrollTop = top - 8;
      } else {
        log.scrollTop = Math.max(log.scrollTop, bottom - log.clientHeight + 12);
      }
    });
  }

  function add(cls, text) {
    var div = document.createElement("div");
    div.className = "msg " + cls;
    div.textContent = text;
    log.appendChild(div);
    reveal(div);
    return div;
  }

  // What to do when the chat could not help: ask again (focuses the input), call (tel: link), write to the city.
  function nextSteps(div, steps) {
    if (!steps) { return; }
    var box = document.createElement("div");
    box.className = "next-steps";
    var h = document.createElement("p");
    h.className = "next-heading";
    h.textContent = steps.heading;
    box.appendChild(h);
    var again = document.createElement("button");
    again.type = "button";
    again.textContent = steps.rephrase;
    again.addEventListener("click", function () { input.focus(); });
    box.appendChild(again);
    var call = document.createElement("a");
    call.className = "step";
    call.href = "tel:" + steps.phone;
    call.textContent = steps.call;
    box.appendChild(call);
    if (/^https?:\/\//.test(steps.contact_url)) {
      var contact = document.createElement("a");
      contact.className = "step";
      contact.href = steps.contact_url;
      contact.rel = "noopener";
      contact.target = "_blank";
      contact.textContent = steps.contact;
      box.appendChild(contact);
    }
    div.appendChild(box);
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
    box.setAttribute("aria-label", words.feedbackLabel);
    [[words.helpful, true], [words.notHelpful, false]].forEach(function (pair) {
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
      meta.textContent = words.department.replace("{department}", m.department);
      div.appendChild(meta);
    }
    if (m.link && /^https?:\/\//.test(m.link)) {
      var a = document.createElement("a");
      a.className = "meta";
      a.href = m.link;
      a.rel = "noopener";
      a.target = "_blank";
      a.textContent = words.more;
      div.appendChild(a);
    }
    if (m.kind === "candidates" && m.candidates.length) {
      var box = document.createElement("div");
      box.className = "choices";
      box.setAttribute("role", "group");
      box.setAttribute("aria-label", words.choicesLabel);
      m.candidates.forEach(function (c) {
        var b = document.createElement("button");
        b.type = "button";
        b.textContent = c.question;
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
      none.textContent = words.none;
      none.addEventListener("click", function () {
        disableIn(box);
        send({ helpful: false, id: m.id });
      });
      box.appendChild(none);
      div.appendChild(box);
    } else if (m.kind === "answer") {
      feedbackButtons(div, m.id);
    }
    nextSteps(div, m.next_steps);
    reveal(div);
  }

  function showFeedback(m) {
    var div = add("bot", m.message);
    nextSteps(div, m.next_steps);
    reveal(div);
  }

  var shownEmergencies = {};

  function safetyButtons(box, m) {
    var group = document.createElement("div");
    group.className = "safety";
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", words.safetyLabel);
    m.choices.forEach(function (c) {
      var b = document.createElement("button");
      b.type = "button";
      b.textContent = (c.answer === "safe" ? words.safe : words.needHelp) || c.label;
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
    // The alert's own text in the page's language when it has one, else its Japanese.
    var own = m.texts && m.texts[lang];
    var title = own && own.title ? own.title : m.title;
    var body = own && own.body ? own.body : m.body;
    if (body && typeof body === "object") { body = body[lang] || body.ja || Object.values(body)[0] || ""; }
    h.textContent = "【" + (m.type === "emergency" ? words.emergency : words.notice) + "】" + (title || "");
    var p = document.createElement("p");
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
    else if (m.type === "feedback") { showFeedback(m); }
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
        state.textContent = words.idle;
        return;
      }
      state.textContent = opened ? words.reconnecting : words.cannotConnect;
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
