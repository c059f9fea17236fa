// The hand-over screen: a scanned parcel's row (answered by the server) goes on the truck list and leaves
// the packed list; a refusal sounds and flashes, and the field keeps the code selected so the next scan
// replaces it. Ticking a packed parcel puts it on the truck, unticking takes it off. The button always
// says how many parcels go. The list lives only in the page: "Hand over" sends it.
(() => {
  const form = document.getElementById("handover-form");
  const scanForm = document.getElementById("scan-form");
  if (!form || !scanForm) return;
  const code = document.getElementById("scan-code");
  const truck = document.getElementById("on-truck-rows");
  const waiting = document.getElementById("waiting-rows");
  const message = document.getElementById("scan-message");
  const button = document.getElementById("handover-button");
  const tickAll = document.getElementById("tick-all");
  let audio = null;

  function beep(ok) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.type = ok ? "sine" : "square";
      tone.frequency.value = ok ? 1320 : 220;
      gain.gain.value = ok ? 0.08 : 0.15;
      tone.connect(gain).connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + (ok ? 0.08 : 0.35));
    } catch (error) { /* no sound here: the colour still says it */ }
  }

  function signal(ok) {
    scanForm.classList.remove("scan-ok", "scan-refused");
    void scanForm.offsetWidth; // restart the flash when the same signal comes twice
    scanForm.classList.add(ok ? "scan-ok" : "scan-refused");
    beep(ok);
  }

  function recount() {
    const count = truck.querySelectorAll("input[name=shipment_ids]:checked").length;
    document.getElementById("truck-count").textContent = count;
    document.getElementById("handover-count").textContent = count;
    document.getElementById("handover-plural").textContent = count === 1 ? "" : "s";
    const left = waiting.querySelectorAll("tr[data-parcel]").length;
    const tickable = waiting.querySelectorAll("input[name=shipment_ids]:not(:disabled)").length;
    document.getElementById("waiting-count").textContent = left;
    document.getElementById("tick-all-count").textContent = tickable;
    tickAll.disabled = tickable === 0;
    truck.closest(".table-scroll").hidden = count === 0;  // no empty table heads above "Nothing scanned yet"
    document.getElementById("truck-empty").hidden = count > 0;
    button.disabled = count === 0;
  }

  // A row swapped onto the truck: the same parcel leaves the packed list (it was on it unless packed since).
  document.body.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target === truck) {
      const row = truck.firstElementChild;
      if (row && row.dataset.parcel) {
        waiting.querySelector(`tr[data-parcel="${row.dataset.parcel}"]`)?.remove();
      }
      message.replaceChildren();
      recount();
    }
  });

  // Each scan is taken from the field the moment its Enter comes, and the field emptied for the next:
  // a scanner may type the next code (and the one after) while an answer is on its way. The requests
  // wait their turn (hx-sync queue all) and each sends its own code, in the order scanned, instead of
  // whatever the field holds when its turn comes.
  const scanned = [];
  scanForm.addEventListener("submit", (event) => {
    const typed = code.value.trim();
    if (!typed) {  // a scanner's stray Enter: nothing to say, nothing refused
      event.preventDefault();
      event.stopImmediatePropagation();
      code.focus();
      return;
    }
    scanned.push(typed);
    code.value = "";
  }, true);
  scanForm.addEventListener("htmx:configRequest", (event) => {
    if (event.detail.elt !== scanForm || !scanned.length) return;
    event.detail.parameters.code = scanned.shift();
  });

  scanForm.addEventListener("htmx:afterRequest", (event) => {
    if (event.detail.elt !== scanForm) return;
    // A refusal is a 422 that htmx swaps (into the message) without calling it an error: read the status.
    const ok = event.detail.successful && event.detail.xhr.status < 300;
    signal(ok);
    code.focus();
    // A refused code comes back selected (the packer sees what was refused; the next scan replaces it),
    // unless the next scan is already being typed.
    if (!ok && !code.value && !scanned.length) {
      code.value = event.detail.requestConfig?.parameters?.code || "";
      code.select();
    }
  });

  form.addEventListener("change", (event) => {
    const box = event.target;
    if (box.name !== "shipment_ids") return;
    const row = box.closest("tr");
    if (box.checked && row.parentElement === waiting) truck.prepend(row);
    if (!box.checked && row.parentElement === truck) waiting.append(row);
    row.classList.remove("just-scanned");
    box.focus();
    recount();
  });

  // Every parcel still packed that can go goes on the truck, in the order they wait (oldest first); one
  // held back (a marketplace parcel without its tracking number) stays. The focus goes to the button that
  // hands them over, so Enter (or h) finishes it.
  tickAll.addEventListener("click", () => {
    const boxes = [...waiting.querySelectorAll("input[name=shipment_ids]:not(:disabled)")];
    const rows = boxes.map((box) => { box.checked = true; return box.closest("tr"); });
    rows.forEach((row) => row.classList.remove("just-scanned"));
    truck.append(...rows);
    recount();
    button.focus();
  });

  form.addEventListener("submit", (event) => {
    if (button.disabled) { event.preventDefault(); return; }
    // One hand-over per click: a second Enter while the first is on its way would only be refused.
    setTimeout(() => { button.disabled = true; button.textContent = "Handing over…"; }, 0);
  });

  recount();
})();
