// dom.js — the only way the console builds its page. Data only ever
// becomes text (text nodes, textContent, attribute values): nothing here
// parses HTML, so a file named <img src=x onerror=alert(1)> shows as those
// characters. console_test.go fails the build if any module uses
// innerHTML, outerHTML, insertAdjacentHTML or document.write.

// Properties set as DOM properties rather than attributes.
const PROPS = new Set(['value', 'checked', 'disabled', 'hidden', 'required', 'selected', 'multiple', 'indeterminate', 'readOnly']);

// h builds an element: h('button', {class: 'primary', on: {click: fn}}, 'Save').
// Children may be strings (text), nodes, arrays, or null/false (skipped).
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null || v === false && !PROPS.has(k)) continue;
      if (k === 'on') {
        for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
      } else if (k === 'dataset') {
        Object.assign(el.dataset, v);
      } else if (PROPS.has(k)) {
        el[k] = v;
      } else if (k.startsWith('on')) {
        throw new Error('dom: event handlers go in props.on, not ' + k);
      } else {
        el.setAttribute(k, v === true ? '' : String(v));
      }
    }
  }
  append(el, children);
  return el;
}

// append adds children (see h) to el.
export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// replace empties el and adds children.
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

// uid makes ids for label/field pairs.
let n = 0;
export function uid(prefix) {
  n += 1;
  return `${prefix || 'id'}-${n}`;
}
