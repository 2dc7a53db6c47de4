// Harbor: small progressive enhancements. Every page works without it.
(function () {
  'use strict';
  document.documentElement.classList.add('js');

  // Sort selects submit on change.
  document.querySelectorAll('select[data-autosubmit]').forEach(function (select) {
    select.addEventListener('change', function () { select.form.submit(); });
  });

  // Product gallery: thumbnails swap the main image.
  var main = document.getElementById('ProductMainImage');
  document.querySelectorAll('.product__thumb').forEach(function (link) {
    link.addEventListener('click', function (event) {
      if (!main) { return; }
      event.preventDefault();
      main.src = link.getAttribute('data-full');
      main.removeAttribute('srcset');
    });
  });

  // Variant picker: one select per option drives the hidden variant select.
  var form = document.querySelector('[data-product-form]');
  var product = document.querySelector('[data-product-id]');
  if (!form || !product) { return; }
  var data = document.getElementById('ProductJSON-' + product.getAttribute('data-product-id'));
  var variantSelect = form.querySelector('select[name="id"]');
  var optionSelects = form.querySelectorAll('.js-option');
  if (!data || !variantSelect || optionSelects.length === 0) { return; }
  var variants = JSON.parse(data.textContent);
  form.querySelectorAll('.js-only').forEach(function (el) { el.hidden = false; });
  var button = document.getElementById('AddToCart');
  var labels = { add: button ? button.textContent : '', soldOut: '' };
  var soldOutOption = variantSelect.querySelector('option[disabled]');
  labels.soldOut = soldOutOption ? (soldOutOption.textContent.match(/\(([^)]*)\)\s*$/) || [null, 'Sold out'])[1] : 'Sold out';

  function update() {
    var chosen = Array.prototype.map.call(optionSelects, function (s) { return s.value; });
    var match = variants.find(function (v) {
      return chosen.every(function (value, i) { return v['option' + (i + 1)] === value; });
    });
    if (!match) {
      if (button) { button.disabled = true; button.textContent = labels.soldOut; }
      return;
    }
    variantSelect.value = String(match.id);
    if (button) {
      button.disabled = !match.available;
      button.textContent = match.available ? labels.add : labels.soldOut;
    }
    var option = variantSelect.querySelector('option[value="' + match.id + '"]');
    var price = document.querySelector('#ProductPrice .price__regular, #ProductPrice .price__sale');
    if (option && price) {
      var parts = option.textContent.split('\u2013');
      if (parts.length > 1) { price.textContent = parts[1].replace(/\(.*\)\s*$/, '').trim(); }
    }
    if (window.history && window.history.replaceState) {
      var url = new URL(window.location.href);
      url.searchParams.set('variant', match.id);
      window.history.replaceState({}, '', url.toString());
    }
  }
  optionSelects.forEach(function (s) { s.addEventListener('change', update); });
})();
