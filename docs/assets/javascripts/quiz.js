/* Interactive quizzes. Without JavaScript a quiz is a list plus a <details> block with the
   answer; this script turns options into buttons, lets the reader reorder steps, and
   reveals right/wrong with the explanation. Material's instant navigation swaps pages
   without reloading, so set-up runs on every `document$` emission. */
(function () {
  "use strict";

  function reveal(item) {
    var details = item.querySelector(".fg-quiz__answer");
    if (details) {
      details.hidden = false;
      details.open = true;
    }
  }

  function say(item, ok, text) {
    var feedback = item.querySelector(".fg-quiz__feedback");
    feedback.textContent = text;
    feedback.classList.remove("fg-quiz__feedback--right", "fg-quiz__feedback--wrong");
    feedback.classList.add(ok ? "fg-quiz__feedback--right" : "fg-quiz__feedback--wrong");
  }

  function setUpChoice(item) {
    var options = item.querySelectorAll(".fg-quiz__options > li");
    options.forEach(function (li) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "fg-quiz__option";
      button.innerHTML = '<span class="fg-quiz__letter">' + li.dataset.letter + "</span> " + li.innerHTML;
      li.innerHTML = "";
      li.appendChild(button);
      button.addEventListener("click", function () {
        var right = li.dataset.correct === "true";
        options.forEach(function (other) {
          other.classList.remove("fg-quiz__chosen", "fg-quiz__right", "fg-quiz__wrong");
        });
        li.classList.add("fg-quiz__chosen", right ? "fg-quiz__right" : "fg-quiz__wrong");
        if (right) {
          say(item, true, "Correct: " + li.dataset.letter + " is the right answer.");
        } else {
          say(item, false, "Not quite: " + li.dataset.letter + " is not the best answer. Try another, or read the explanation below.");
        }
        item.classList.add("fg-quiz__item--answered");
        reveal(item);
      });
    });
  }

  function move(li, delta) {
    var list = li.parentNode;
    if (delta < 0 && li.previousElementSibling) {
      list.insertBefore(li, li.previousElementSibling);
    } else if (delta > 0 && li.nextElementSibling) {
      list.insertBefore(li.nextElementSibling, li);
    }
  }

  function setUpOrder(item) {
    var list = item.querySelector(".fg-quiz__steps");
    Array.prototype.forEach.call(list.children, function (li) {
      var text = document.createElement("span");
      text.className = "fg-quiz__step-text";
      text.innerHTML = li.innerHTML;
      li.innerHTML = "";
      [["up", "\u2191", -1], ["down", "\u2193", 1]].forEach(function (spec) {
        var b = document.createElement("button");
        b.type = "button";
        b.className = "fg-quiz__move fg-quiz__move--" + spec[0];
        b.setAttribute("aria-label", "Move step " + spec[0]);
        b.textContent = spec[1];
        b.addEventListener("click", function () { move(li, spec[2]); });
        li.appendChild(b);
      });
      li.appendChild(text);
    });
    var hint = item.querySelector(".fg-quiz__hint");
    if (hint) hint.textContent = "The steps are shuffled: move them with the arrows, then check.";
    var check = document.createElement("button");
    check.type = "button";
    check.className = "md-button fg-quiz__check";
    check.textContent = "Check order";
    check.addEventListener("click", function () {
      var steps = Array.prototype.map.call(list.children, function (li) { return Number(li.dataset.step); });
      var placed = 0;
      Array.prototype.forEach.call(list.children, function (li, i) {
        var ok = Number(li.dataset.step) === i;
        if (ok) placed += 1;
        li.classList.toggle("fg-quiz__right", ok);
        li.classList.toggle("fg-quiz__wrong", !ok);
      });
      if (placed === steps.length) {
        say(item, true, "Correct: every step is in its place.");
      } else {
        say(item, false, placed + " of " + steps.length + " steps are in the right place. Keep reordering, or read the answer below.");
      }
      item.classList.add("fg-quiz__item--answered");
      reveal(item);
    });
    list.parentNode.insertBefore(check, list.nextSibling);
  }

  function setUp(root) {
    root.querySelectorAll(".fg-quiz__item:not([data-ready])").forEach(function (item) {
      item.dataset.ready = "true";
      var details = item.querySelector(".fg-quiz__answer");
      if (details) details.hidden = true;  // revealed once the reader answers
      if (item.dataset.kind === "choice") setUpChoice(item);
      else if (item.dataset.kind === "order") setUpOrder(item);
    });
  }

  if (typeof document$ !== "undefined" && document$.subscribe) {
    document$.subscribe(function () { setUp(document); });
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { setUp(document); });
  } else {
    setUp(document);
  }
})();
