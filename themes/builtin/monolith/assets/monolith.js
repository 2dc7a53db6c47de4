// Monolith: option buttons drive the variant select; the page works without it.
(function () {
  'use strict';
  document.documentElement.classList.add('js');
  document.querySelectorAll('select[data-autosubmit]').forEach(function (s) {
    s.addEventListener('change', function () { s.form.submit(); });
  });
  var product = document.querySelector('[data-product-id]');
  var form = document.querySelector('[data-product-form]');
  if (!product || !form) { return; }
  var json = document.getElementById('ProductJSON-' + product.getAttribute('data-product-id'));
  var select = form.querySelector('select[name="id"]');
  var radios = form.querySelectorAll('.js-option');
  if (!json || !select || radios.length === 0) { return; }
  var variants = JSON.parse(json.textContent);
  form.querySelectorAll('.js-only').forEach(function (el) { el.hidden = false; });
  var add = form.querySelector('[data-add]');
  var addLabel = add.textContent;
  function chosen() {
    var values = [];
    form.querySelectorAll('.js-option:checked').forEach(function (r) {
      values[Number(r.getAttribute('data-index')) - 1] = r.value;
    });
    return values;
  }
  function update() {
    var values = chosen();
    var match = variants.find(function (v) {
      return values.every(function (value, i) { return v['option' + (i + 1)] === value; });
    });
    add.disabled = !match || !match.available;
    add.textContent = add.disabled ? '\u2014' : addLabel;
    if (!match) { return; }
    select.value = String(match.id);
    var option = select.querySelector('option[value="' + match.id + '"]');
    var price = document.querySelector('[data-price] .price__regular, [data-price] .price__sale');
    if (option && price) {
      var parts = option.textContent.split('\u2013');
      if (parts.length > 1) { price.textContent = parts[1].replace(/\(.*\)\s*$/, '').trim(); }
    }
  }
  radios.forEach(function (r) { r.addEventListener('change', update); });
})();
