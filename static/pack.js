// The pack station (templates/pack/): the scan field keeps the focus, is emptied as each scan is sent,
// each answer sounds a tone (Web Audio, no sound files: a low buzz for a refusal, a short beep for a
// good scan, two for a packed parcel) and a packed parcel's label opens for printing.
(() => {
  const form = document.getElementById("pack-form");
  if (!form) return;
  const input = form.querySelector("[data-scan-input]");
  let audio = null;

  function tone(kind) {
    const notes = { refused: [[196, 0.28, "square"]], scanned: [[880, 0.07, "sine"]],
                    opened: [[660, 0.07, "sine"]], packed: [[880, 0.08, "sine"], [1320, 0.12, "sine"]],
                    received: [[880, 0.08, "sine"], [1320, 0.12, "sine"]] }[kind];
    document.body.dataset.lastTone = kind;  // what the station last sounded (a browser test reads it)
    if (!notes) return;
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      let at = audio.currentTime;
      for (const [frequency, seconds, type] of notes) {
        const oscillator = audio.createOscillator();
        const gain = audio.createGain();
        oscillator.type = type;
        oscillator.frequency.value = frequency;
        gain.gain.setValueAtTime(0.15, at);
        gain.gain.exponentialRampToValueAtTime(0.001, at + seconds);
        oscillator.connect(gain).connect(audio.destination);
        oscillator.start(at);
        oscillator.stop(at + seconds);
        at += seconds + 0.03;
      }
    } catch (error) {
      // No audio device: the colours and the message say it all the same.
    }
  }

  function focusScan() {
    if (document.activeElement !== input) input.focus();
  }

  // Each scan is taken from the field the moment its Enter comes, and the field emptied for the next: a
  // scanner may type the next code (and the one after) while an answer is on its way. The requests wait
  // their turn (hx-sync queue all) and each sends its own code, in the order scanned, instead of whatever
  // the field holds when its turn comes.
  const scanned = [];
  form.addEventListener("submit", () => {
    scanned.push(input.value);
    input.value = "";
  }, true);
  form.addEventListener("htmx:configRequest", (event) => {
    if (event.detail.elt === form && scanned.length) event.detail.parameters.code = scanned.shift();
  });

  document.addEventListener("htmx:afterSettle", (event) => {
    const state = document.getElementById("pack-state");
    if (!state || !event.detail.target || event.detail.target.id !== "pack-state") return;
    tone(state.dataset.outcome);
    // A weight typed for the parcel just packed is not the next one's.
    const weighed = form.querySelector('[name="weight_grams"]');
    if (weighed && state.dataset.outcome === "packed") weighed.value = "";
    const label = state.dataset.labelUrl;
    if (label) {
      delete state.dataset.labelUrl;
      window.open(label, "_blank");  // our own PDF: no need to cut its opener
    }
    focusScan();
  });

  // Focus that leaves for nothing (a click on the page, a button gone with the swap) comes back.
  input.addEventListener("blur", () => {
    setTimeout(() => { if (!document.activeElement || document.activeElement === document.body) focusScan(); }, 0);
  });
  // Alt+P closes a partial parcel, Alt+X starts over, Alt+L prints the label again: by the key's place
  // (event.code), as a Mac's Option key types another letter, and here rather than by accesskey, which
  // each browser binds to its own modifiers.
  // Alt+R receives a return being counted.
  const shortcuts = { KeyP: '[name="action"][value="close"]', KeyX: '[name="action"][value="cancel"]',
                      KeyL: "[data-label-link]", KeyR: '[name="action"][value="receive"]' };
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") { input.value = ""; focusScan(); return; }
    if (!event.altKey || event.ctrlKey || event.metaKey || !shortcuts[event.code]) return;
    const target = form.querySelector(shortcuts[event.code]);
    event.preventDefault();
    if (target && !target.disabled) target.click();
  });
  focusScan();
})();
