// The form ↔ the config Rust reads (src/sampler/link.rs, FlatConfig): its menus, limits and
// defaults come from Rust (page_schema(), src/sampler/schema.rs), share links and PNGs fill it.
import { $, entries, page, weightsTag } from "./page.js";

const steering = (name) => page.schema.steering.find((l) => l.name === name);
const applies = (setting, sampler) => page.schema.applies.some(([s, samplers]) => s === setting && samplers.includes(sampler));

// The form checks nothing itself (`novalidate`): every setting goes to Rust as typed, and Rust's
// message says what is wrong. The names its messages give the form's settings:
const NAMES = { n: "N", steps: "steps", eta: "eta", seed: "seed", w: "w", strength: "strength", fade: "fade",
                "fan-eta": "fan-eta", "steer-until": "steer-until" };

// A field's setting: `empty` when the field is empty (the default), else a number field's
// number and the seed's text (any u64, beyond JavaScript's exact integers), as typed. Text the
// browser cannot read as a number is refused, naming the setting: such a field's value is "",
// which must not pass for empty.
function field(id, empty) {
  const el = $(id);
  if (el.validity.badInput) throw new Error(`${NAMES[id]} must be a number; its field holds text that is not one (empty means the default)`);
  const v = el.value.trim();
  if (v === "") return empty;
  return el.type === "number" ? Number(v) : v;
}
// An optional setting: empty ↔ null (the network's or the run's default).
const optional = (id) => field(id, null);
const showOptional = (id, v) => ($(id).value = v === null || v === undefined ? "" : String(v));

// The form's config, the flat object Rust reads; throws when a field holds what is not a number.
export function readForm() {
  const { model, sampler } = page.schema.methods.find((m) => m.value === $("method").value);
  const classes = [...document.querySelectorAll("#classes input:checked")].map((c) => Number(c.value));
  const network = $("steering").value, paper = $("schedule").value === "paper", d = page.schema.defaults;
  // The fade and fan-eta mean something only where they act, so other links do not carry them;
  // an empty fade is the steering network's own (Rust: SteeringKind::default_fade).
  return { model, sampler, n: field("n", d.n), classes, steps: field("steps", d.steps),
           eta: field("eta", d.eta), seed: field("seed", String(d.seed)), w: field("w", d.w), steering: network,
           strength: optional("strength"), steer_until: paper ? optional("steer-until") : null,
           fade: !applies("fade", sampler) || paper ? null : optional("fade") ?? steering(network).fade,
           solver: $("solver").value, fan_eta: applies("fan_eta", sampler) ? optional("fan-eta") : null,
           copies: $("copies").value };
}

// CPU workers by default: one per core, up to Rust's cap.
export const defaultWorkers = () => Math.min(navigator.hardwareConcurrency || 1, page.schema.default_workers_cap);

// The form's menus, limits and initial values, from the schema.
export function buildForm() {
  const schema = page.schema;
  const options = (id, items) => ($(id).innerHTML = items.map(([v, l]) => `<option value="${v}">${l}</option>`).join(""));
  options("method", schema.methods.map((m) => [m.value, m.label]));
  options("steering", schema.steering.map((l) => [l.name, l.label]));
  options("solver", schema.solvers.map((s) => [s.name, s.label]));
  options("copies", schema.copies.map((c) => [c.name, c.label]));
  $("classes").innerHTML = schema.classes.map((n, i) => `<label><input type="checkbox" value="${i}" checked>${n}</label>`).join("");
  // The limits are hints (the spinners'); Rust checks. The seed has none: a u64's bounds are
  // beyond a number input's exact range.
  const limits = { n: "n", steps: "steps", eta: "eta", strength: "strength", fade: "fade", "fan-eta": "fan_eta", w: "w", "steer-until": "steer_until" };
  for (const [id, key] of Object.entries(limits)) {
    const r = schema.limits[key] || { min: 0, max: null };
    $(id).min = r.min;
    if (r.max !== null && r.max !== undefined) $(id).max = r.max;
  }
  for (const id of ["n", "steps", "eta", "seed", "w"]) $(id).placeholder = `default (${schema.defaults[id]})`;
  $("workers").max = schema.max_workers;
  $("workers").value = defaultWorkers();
  $("workers").placeholder = `default (${defaultWorkers()})`;
  writeForm(schema.defaults);
  // An empty fade follows the chosen network (its own default), as a visitor expects when
  // switching networks.
  if (schema.defaults.fade === steering(schema.defaults.steering).fade) $("fade").value = "";
}

// The form's fields and their values, to put back.
function formState() {
  return [...$("controls").querySelectorAll("input, select")].map((el) => [el, el.type === "checkbox" ? el.checked : el.value]);
}
function restoreForm(state) {
  state.forEach(([el, v]) => (el.type === "checkbox" ? (el.checked = v) : (el.value = v)));
}

// A config Rust accepted (its defaults, a link's, a PNG's) into the form. A value the form
// cannot hold (a menu without it) is an error naming it and leaves the form as it was.
export function writeForm(c) {
  const before = formState();
  const put = (id, v, what) => {
    $(id).value = String(v);
    if ($(id).value !== String(v)) throw new Error(`the page offers no ${what} "${v}"`);
  };
  try {
    put("method", `${entries(c)[0]}/${c.sampler}`, "method");
    put("steering", c.steering, "steering");
    put("solver", c.solver, "solver");
    put("copies", c.copies, "choice of steered copies");
    document.querySelectorAll("#classes input").forEach((i) => (i.checked = c.classes.includes(Number(i.value))));
    for (const id of ["n", "steps", "eta", "w"]) put(id, c[id], NAMES[id]);
    $("seed").value = String(c.seed);
    showOptional("strength", c.strength); showOptional("steer-until", c.steer_until);
    // A steered link without a fade uses the paper's rule (links made before the fade existed
    // too); one without fan_eta runs v2's fan-out at the run's eta.
    if (c.sampler !== "ddim") { $("schedule").value = c.fade === null ? "paper" : "fade"; showOptional("fade", c.fade); }
    showOptional("fan-eta", c.fan_eta);
  } catch (e) { restoreForm(before); throw e; } finally { showDefaults(); }
}

// The placeholders say what an empty strength or fade means for the chosen network and
// schedule: under the fade its faded peak (scaled below full_strength_steps), under the
// paper's rule its paper-rule strength.
export function showDefaults() {
  const d = steering($("steering").value);
  if (!d) return;
  if ($("schedule").value === "paper") {
    $("strength").placeholder = d.paper_strength === undefined ? "network's default (the paper's rule)"
      : `network's default (${d.paper_strength}, the paper's rule)`;
  } else {
    const below = d.full_strength_steps ? `; × steps/${d.full_strength_steps} below ${d.full_strength_steps} steps` : "";
    $("strength").placeholder = `network's default (${d.strength}${below})`;
  }
  $("fade").placeholder = `network's default (${d.fade})`;
}

// A share link's fragment into the form, at load and when a link is pasted into the open page
// (hashchange) alike. Rust checks the whole config first, so a bad link changes nothing.
// Returns what to tell the visitor ("" when all is well); tests count the links read.
export function readLink(fragment) {
  let note = "";
  try {
    const c = page.wasm.config_from_fragment(fragment);
    writeForm(c);
    const tag = new URLSearchParams(fragment).get("weights");
    if (tag && tag !== weightsTag(c)) note = "This link was made with other weights; the images will differ.";
  } catch (e) { note = `Share link: ${e.message || e}`; }
  document.body.dataset.linksRead = String(Number(document.body.dataset.linksRead || 0) + 1);
  return note;
}

// Rust's message about a config ("" when it accepts it).
export function problem(c) {
  try { page.wasm.check_config(c); return ""; } catch (e) { return e.message || String(e); }
}

// The form's config, or the message that says what is wrong with it.
export function formConfig() {
  let c;
  try { c = readForm(); } catch (e) { return { error: e.message || String(e) }; }
  const p = problem(c);
  return p ? { error: p } : { config: c };
}
