// runhook console: local times, and live tables over server-sent events.
// The server renders (and escapes) every row; this script only swaps them in.
(function () {
  'use strict';

  function localTimes(root) {
    var times = root.querySelectorAll('time[datetime]');
    for (var i = 0; i < times.length; i++) {
      var when = new Date(times[i].getAttribute('datetime'));
      if (!isNaN(when.getTime())) {
        times[i].textContent = when.toLocaleString();
      }
    }
  }

  function live(body) {
    if (!window.EventSource) {
      return;
    }
    var status = document.getElementById('live-status');
    var waiting = null;
    var source = new EventSource(body.getAttribute('data-stream'));

    function swap(html) {
      body.innerHTML = html;
      localTimes(body);
    }
    function say(text, state) {
      if (status) {
        status.textContent = text;
        status.setAttribute('data-live', state);
      }
    }

    source.addEventListener('rows', function (event) {
      // Rows are not replaced under the keyboard: the swap waits until focus leaves the table.
      if (body.contains(document.activeElement)) {
        waiting = event.data;
      } else {
        swap(event.data);
      }
    });
    body.addEventListener('focusout', function () {
      window.setTimeout(function () {
        if (waiting !== null && !body.contains(document.activeElement)) {
          swap(waiting);
          waiting = null;
        }
      }, 0);
    });
    source.addEventListener('open', function () { say('Live', 'on'); });
    source.addEventListener('error', function () { say('Reconnecting…', 'off'); });
  }

  function start() {
    localTimes(document);
    var body = document.querySelector('tbody[data-stream]');
    if (body) {
      live(body);
    }
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
