/*! BlockATM widget loader served by polypay at /libs/v2/BlockATM.umd.js (spec section 5, W). */
(function (root, factory) {
  if (typeof define === "function" && define.amd) {
    define([], factory);
  } else if (typeof module === "object" && module.exports) {
    module.exports = factory();
  } else {
    root.BlockATM = factory();
  }
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  var script = typeof document !== "undefined" ? document.currentScript : null;
  var scriptOrigin = script && script.src ? new URL(script.src).origin : "";
  // Options that steer the loader and are never part of the signed query.
  var LOCAL = { cancel: 1, finish: 1, baseUrl: 1, width: 1, height: 1 };

  /** The query string to sign: options in insertion order, encodeURIComponent, nulls skipped. */
  function generateUrlForSigning(opts) {
    var parts = [];
    Object.keys(opts || {}).forEach(function (name) {
      var value = opts[name];
      if (value === null || value === undefined || LOCAL[name] || name === "signature") {
        return;
      }
      parts.push(encodeURIComponent(name) + "=" + encodeURIComponent(String(value)));
    });
    return parts.join("&");
  }

  /** Mounts the cashier in an iframe; opts must carry the merchant's `signature`. */
  function init(el, opts) {
    opts = opts || {};
    var host = typeof el === "string" ? document.querySelector(el) : el;
    if (!host) {
      throw new Error("BlockATM.init: container not found");
    }
    var query = generateUrlForSigning(opts);
    if (opts.signature) {
      query += (query ? "&" : "") + "signature=" + encodeURIComponent(opts.signature);
    }
    var frame = document.createElement("iframe");
    frame.src = (opts.baseUrl || scriptOrigin) + "/cashier?" + query;
    frame.style.border = "0";
    frame.style.width = opts.width || "100%";
    frame.style.height = opts.height || "640px";
    frame.setAttribute("allow", "clipboard-write");
    host.appendChild(frame);

    // The cashier page posts {type: "blockatm:cancel"} or
    // {type: "blockatm:finish", status: "SUCCESS"|"EXPIRED"|"CANCELLED", txId: "..."}.
    function onMessage(event) {
      if (event.source !== frame.contentWindow || !event.data) {
        return;
      }
      if (event.data.type === "blockatm:cancel" && typeof opts.cancel === "function") {
        opts.cancel(event.data);
      } else if (event.data.type === "blockatm:finish" && typeof opts.finish === "function") {
        opts.finish(event.data);
      }
    }
    window.addEventListener("message", onMessage);

    return {
      destroy: function () {
        window.removeEventListener("message", onMessage);
        if (frame.parentNode) {
          frame.parentNode.removeChild(frame);
        }
      },
    };
  }

  return { generateUrlForSigning: generateUrlForSigning, init: init };
});
