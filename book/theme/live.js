// "Run on my machine": beside each captured output, run the same command on the reader's
// machine and stream its output into the page, in place of the captured one. Only a book
// served by `procbook book --serve` can do this (its pages carry the server's token); a book
// opened from files keeps its captured output and says how to get live runs. The served book
// also reloads itself when the server has rebuilt it after a chapter changed.
(function () {
    'use strict';

    var meta = document.querySelector('meta[name="procbook-token"]');
    var token = meta ? meta.getAttribute('content') : null;
    var cells = document.querySelectorAll('.procbook-output[data-procbook-run]');

    function el(tag, className, text) {
        var e = document.createElement(tag);
        if (className) { e.className = className; }
        if (text !== undefined) { e.textContent = text; }
        return e;
    }

    function clock(date) {
        return date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    }

    function seconds(ms) {
        return (ms / 1000).toFixed(1) + ' s';
    }

    function offline(cell) {
        var note = el('p', 'procbook-caption procbook-live-note');
        note.append('To run this on your own machine from the page, serve the book with ');
        note.append(el('code', '', 'procbook book --serve'));
        note.append(' (or type ');
        note.append(el('code', '', 'book --serve'));
        note.append(' in the REPL).');
        cell.appendChild(note);
    }

    // Server-sent events, parsed from a fetch() stream (EventSource cannot POST).
    function parseEvents(buffer, onEvent) {
        var end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
            var block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            var name = 'message';
            var data = [];
            block.split('\n').forEach(function (line) {
                if (line.startsWith(':')) { return; }
                var colon = line.indexOf(':');
                var field = colon < 0 ? line : line.slice(0, colon);
                var value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
                if (field === 'event') { name = value; }
                if (field === 'data') { data.push(value); }
            });
            if (data.length > 0) { onEvent(name, data.join('\n')); }
        }
        return buffer;
    }

    function runner(cell) {
        var command = cell.getAttribute('data-procbook-run');
        var captured = Array.prototype.filter.call(cell.children, function (c) {
            return !c.classList.contains('procbook-live-bar');
        });
        var bar = el('div', 'procbook-live-bar');
        var button = el('button', 'procbook-run', 'Run on my machine');
        button.type = 'button';
        button.title = 'Run `' + command + '` on this machine and show its output here';
        var toggle = el('button', 'procbook-show-captured', 'Show the captured run');
        toggle.type = 'button';
        toggle.hidden = true;
        bar.append(button, toggle);
        cell.insertBefore(bar, cell.firstChild);

        var live = null;
        var controller = null;

        function showCaptured(yes) {
            captured.forEach(function (c) { c.classList.toggle('procbook-hidden', !yes); });
            if (live) { live.box.classList.toggle('procbook-hidden', yes); }
            toggle.textContent = yes ? 'Show this machine\'s run' : 'Show the captured run';
        }

        toggle.addEventListener('click', function () {
            // Whichever is hidden now is shown.
            showCaptured(captured[0].classList.contains('procbook-hidden'));
        });

        function state(s) { cell.setAttribute('data-procbook-state', s); }

        function start() {
            if (!live) {
                var box = el('div', 'procbook-live');
                var pre = el('pre', 'procbook-live-output');
                var code = el('code', 'language-text');
                pre.appendChild(code);
                var caption = el('p', 'procbook-caption procbook-live-caption');
                // Screen readers hear how the run went, not every line of it.
                caption.setAttribute('aria-live', 'polite');
                var figures = el('div', 'procbook-live-figures');
                box.append(pre, caption, figures);
                cell.appendChild(box);
                live = { box: box, code: code, caption: caption, figures: figures };
            }
            live.code.textContent = '';
            live.figures.textContent = '';
            showCaptured(false);
            toggle.hidden = true;
            var began = new Date();
            var t0 = performance.now();
            var cores = null;
            var runtime = null;
            var note = '';
            function where() {
                var on = cores ? ', on ' + cores + (cores === '1' ? ' core' : ' cores') : '';
                var rt = runtime ? ' (' + runtime + ')' : '';
                return 'Run on this machine at ' + clock(began) + rt + on;
            }
            live.caption.textContent = 'Running ' + command + ' on this machine…';
            button.textContent = 'Stop';
            state('running');
            controller = new AbortController();
            var mine = controller;
            fetch('/api/run', {
                method: 'POST',
                headers: { 'Content-Type': 'application/json', 'X-Procbook-Token': token },
                body: JSON.stringify({ command: command }),
                signal: mine.signal
            }).then(function (response) {
                if (!response.ok) {
                    return response.text().then(function (why) {
                        throw new Error(why.trim() || ('the server answered ' + response.status));
                    });
                }
                cores = response.headers.get('X-Procbook-Cores');
                runtime = response.headers.get('X-Procbook-Runtime');
                live.caption.textContent = where() + ': running…';
                var reader = response.body.getReader();
                var decoder = new TextDecoder();
                var buffer = '';
                var status = null;
                function pump() {
                    return reader.read().then(function (chunk) {
                        if (chunk.done) { return status; }
                        buffer += decoder.decode(chunk.value, { stream: true });
                        buffer = parseEvents(buffer, function (name, data) {
                            if (name === 'message') {
                                live.code.appendChild(document.createTextNode(data + '\n'));
                            } else if (name === 'done') {
                                status = data;
                            } else if (name === 'figure') {
                                // Drawn by the server from this run's own recording, in place
                                // of the captured run's figure (hidden with the captured run).
                                var holder = el('div', 'procbook-live-figure');
                                holder.innerHTML = data;
                                live.figures.appendChild(holder);
                            } else if (name === 'stopped') {
                                note = ' It ' + data + '.';
                            }
                        });
                        return pump();
                    });
                }
                return pump();
            }).then(function (status) {
                var took = seconds(performance.now() - t0);
                var how = status === '0' ? '' : (status === null
                    ? '; it ended without an exit status'
                    : '; exit status ' + status);
                live.caption.textContent = where() + ', in ' + took + how + '.' + note;
                state(status === '0' ? 'done' : 'failed');
            }, function (error) {
                if (mine.signal.aborted) {
                    live.caption.textContent = where() + ': stopped after ' +
                        seconds(performance.now() - t0) +
                        '. The server killed every process the run had started.';
                    state('stopped');
                } else {
                    live.caption.textContent = 'Could not run ' + command + ' here: ' + error.message;
                    showCaptured(true);
                    state('error');
                }
            }).then(function () {
                if (controller === mine) { controller = null; }
                button.textContent = 'Run again';
                toggle.hidden = !live || live.code.textContent === '';
                if (!toggle.hidden) { toggle.textContent = 'Show the captured run'; }
            });
        }

        button.addEventListener('click', function () {
            if (controller) {
                controller.abort();
            } else {
                start();
            }
        });
    }

    function listenForRebuilds() {
        if (!window.EventSource) { return; }
        var news = new EventSource('/api/events');
        news.addEventListener('reload', function () { window.location.reload(); });
        news.addEventListener('failed', function (e) {
            var banner = document.querySelector('.procbook-build-failed');
            if (!banner) {
                banner = el('div', 'procbook-build-failed');
                var main = document.querySelector('main') || document.body;
                main.insertBefore(banner, main.firstChild);
            }
            banner.textContent = 'The book did not rebuild after your change, so this is the ' +
                'last good build: ' + e.data;
        });
        window.addEventListener('pagehide', function () { news.close(); });
    }

    if (!token) {
        Array.prototype.forEach.call(cells, offline);
        return;
    }
    Array.prototype.forEach.call(cells, runner);
    listenForRebuilds();
})();
