// The demo chat widget: renders what ChatClient reports. All message text goes through
// textContent (never innerHTML), so nothing a user or a model writes can inject markup.
(function () {
  'use strict';

  function el(testid) { return document.querySelector('[data-testid="' + testid + '"]'); }
  var transcript = el('transcript');
  var input = el('message-input');
  var sendBtn = el('send');
  var stopBtn = el('stop');
  var stateEl = el('state');
  var stateText = el('state-text');
  var modelEl = el('model');
  var errorEl = el('error');
  var errorText = el('error-text');
  var retryBtn = el('retry');
  var presenceEl = el('presence');
  var typingEl = el('typing');

  var STATE_LABELS = {
    connecting: 'Connecting…', open: 'Connected', reconnecting: 'Reconnecting…', closed: 'Disconnected',
  };
  var ERROR_TEXT = {
    busy: 'A reply is still in progress: wait for it or press Stop.',
    overloaded: 'The server is busy right now.',
    rate_limited: 'You are sending too fast.',
    too_large: 'That message is too long.',
  };

  var bubbles = new Map(); // 'u:<message id>' | 't:<turn id>' -> <li>
  var turnActive = false;  // a turn of this session is queued or streaming
  var retryText = null;
  var TYPING_SHOWN_MS = 3000; // a typist sends one every ~1.2 s while typing
  var typingUntil = new Map(); // user -> time until which "typing…" shows
  var typingTimer = null;

  // --- transcript rendering -------------------------------------------------------------
  function nearBottom() {
    return transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 60;
  }
  function keepScrolled(fn) {
    var stick = nearBottom();
    fn();
    if (stick) transcript.scrollTop = transcript.scrollHeight;
  }

  function bubble(key, role, text) {
    var li = bubbles.get(key);
    if (li) return li;
    li = document.createElement('li');
    li.className = 'msg ' + role;
    li.dataset.role = role;
    li.dataset.testid = role === 'user' ? 'user-message' : 'assistant-message';
    if (role === 'assistant') {
      var meta = document.createElement('div');
      meta.className = 'meta';
      meta.dataset.testid = 'message-model';
      li.appendChild(meta);
    }
    var p = document.createElement('p');
    p.className = 'text';
    p.dataset.testid = 'message-text';
    p.appendChild(document.createTextNode(text || '')); // one text node; deltas append to it
    li.appendChild(p);
    transcript.appendChild(li);
    bubbles.set(key, li);
    return li;
  }

  function userBubble(id, text, pending) {
    var li = bubble('u:' + id, 'user', text);
    li.dataset.id = id;
    li.dataset.pending = String(!!pending);
    return li;
  }

  function assistantBubble(turn, model) {
    var li = bubble('t:' + turn, 'assistant');
    li.dataset.turn = turn;
    if (!li.dataset.streaming) li.dataset.streaming = 'true';
    if (model) {
      li.dataset.model = model;
      li.querySelector('.meta').textContent = model === 'demo' ? 'demo (built-in demo model)' : model;
      modelEl.textContent = model;
    }
    return li;
  }

  function appendText(li, text) {
    li.querySelector('.text').firstChild.appendData(text);
  }

  function note(li, text, bad) {
    var p = document.createElement('p');
    p.className = 'note' + (bad ? ' bad' : '');
    p.dataset.testid = 'turn-note';
    p.textContent = text;
    li.appendChild(p);
  }

  function setTurnActive(active) {
    turnActive = active;
    stopBtn.disabled = !active;
    sendBtn.disabled = active;
  }

  // --- presence ---------------------------------------------------------------------------
  function me() { return client.welcome && client.welcome.user; }

  function renderPresence(users) {
    presenceEl.textContent = '';
    users.forEach(function (u) {
      var li = document.createElement('li');
      li.dataset.testid = 'presence-user';
      li.dataset.user = u.user;
      li.dataset.role = u.role;
      li.textContent = u.user + (u.user === me() ? ' (you)' : '') + (u.role !== 'user' ? ' · ' + u.role : '');
      presenceEl.appendChild(li);
    });
  }

  function renderTyping() {
    var now = Date.now();
    typingUntil.forEach(function (until, user) { if (until <= now) typingUntil.delete(user); });
    var names = Array.from(typingUntil.keys()).sort();
    typingEl.hidden = names.length === 0;
    typingEl.textContent = names.length === 0 ? '' :
      names.join(', ') + (names.length === 1 ? ' is typing…' : ' are typing…');
    clearTimeout(typingTimer);
    if (names.length) typingTimer = setTimeout(renderTyping, 250);
  }

  function stopTyping(user) {
    if (typingUntil.delete(user)) renderTyping();
  }

  function onPresence(p) {
    renderPresence(p.users);
    if (p.event === 'typing' && p.user !== me()) {
      typingUntil.set(p.user, Date.now() + TYPING_SHOWN_MS);
      renderTyping();
    } else if (p.event === 'leave') {
      stopTyping(p.user);
    }
  }

  // --- client callbacks -----------------------------------------------------------------
  function onEvent(e) {
    keepScrolled(function () {
      switch (e.type) {
        case 'message':
          stopTyping(e.author); // they sent what they were typing
          userBubble(e.id, e.text, false);
          setTurnActive(true); // an accepted message starts (queues) a turn
          break;
        case 'turn.start':
          assistantBubble(e.turn, e.model);
          setTurnActive(true);
          break;
        case 'turn.delta':
          appendText(assistantBubble(e.turn), e.text);
          break;
        case 'turn.end': {
          var li = assistantBubble(e.turn);
          li.dataset.streaming = 'false';
          li.dataset.finish = e.finish;
          if (e.finish === 'cancelled') note(li, 'Stopped.');
          if (e.finish === 'length') note(li, 'Reply cut at the length limit.');
          if (e.error) note(li, 'Error: ' + e.error.message + ' (' + e.error.code + ')', true);
          setTurnActive(false);
          break;
        }
      }
    });
  }

  function onSnapshot(s) {
    // The server could not replay the log: start over from its picture of the transcript.
    transcript.textContent = '';
    bubbles.clear();
    var active = false;
    s.messages.forEach(function (m) {
      if (m.role === 'user') {
        userBubble(m.id, m.text, false);
      } else {
        var li = assistantBubble(m.turn || m.id, m.model);
        appendText(li, m.text);
        li.dataset.streaming = String(!!m.streaming);
        if (m.finish) li.dataset.finish = m.finish;
        active = active || !!m.streaming;
      }
    });
    client.pending.forEach(function (m) { userBubble(m.id, m.text, true); });
    setTurnActive(active);
    transcript.scrollTop = transcript.scrollHeight;
  }

  function onState(state, detail) {
    stateEl.dataset.state = state;
    var label = STATE_LABELS[state] || state;
    if (state === 'reconnecting' && detail.retryInMs) {
      label += ' (in ' + (detail.retryInMs / 1000).toFixed(1) + ' s)';
    }
    stateText.textContent = label;
    if (state === 'open' && errorEl.dataset.code === 'closed') showError(null);
    if (state !== 'open') { // presence is only known while joined; the next join brings it afresh
      renderPresence([]);
      typingUntil.clear();
      renderTyping();
    }
  }

  function showError(err) {
    errorEl.hidden = !err;
    errorEl.dataset.code = err ? err.code : '';
    errorText.textContent = err ? (ERROR_TEXT[err.code] || err.message || err.code) : '';
    retryText = err && err.text && err.code !== 'too_large' ? err.text : null;
    retryBtn.hidden = !retryText;
  }

  function onError(err) {
    if (err.code === 'not_joined') return; // the client re-joins by itself
    if (err.ref) { // the refused message: take its bubble away
      var li = bubbles.get('u:' + err.ref);
      if (li) { li.remove(); bubbles.delete('u:' + err.ref); }
    }
    if (err.code === 'busy') setTurnActive(true); // someone else's turn (another tab): allow Stop
    showError(err);
  }

  var client = new window.ChatClient({
    onEvent: onEvent,
    onSnapshot: onSnapshot,
    onState: onState,
    onError: onError,
    onAck: function () { if (errorEl.dataset.code !== 'closed') showError(null); },
    onPresence: onPresence,
  });
  window.chatClient = client; // handy in the console (and for tests)

  // --- user actions ---------------------------------------------------------------------
  function sendText(text) {
    if (!text.trim()) return;
    showError(null);
    var id = client.send(text);
    keepScrolled(function () { userBubble(id, text, true); });
    transcript.scrollTop = transcript.scrollHeight;
  }

  el('composer').addEventListener('submit', function (ev) {
    ev.preventDefault();
    if (turnActive) return;
    var text = input.value;
    input.value = '';
    sendText(text);
    input.focus();
  });
  input.addEventListener('keydown', function (ev) {
    // Key strokes that write something; the client sends at most one typing per interval.
    if (ev.key.length === 1 && !ev.ctrlKey && !ev.metaKey) client.typing();
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      el('composer').requestSubmit();
    }
  });
  stopBtn.addEventListener('click', function () { client.stop(); });
  retryBtn.addEventListener('click', function () {
    var text = retryText;
    showError(null);
    if (text) sendText(text);
  });
  el('new-chat').addEventListener('click', function () {
    window.ChatClient.resetSession();
    location.reload();
  });

  client.start();
})();
