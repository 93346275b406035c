using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Jint;
using Jint.Native;
using Jint.Native.Object;
using Jint.Native.Symbol;
using Jint.Runtime;
using Jint.Runtime.Descriptors;
using Jint.Runtime.Interop;

namespace SsePlugin.JavaScript;

/// <summary>
/// Lets a call's time limit and cancellation into every regular expression match, whatever starts it. A match cannot
/// be interrupted (it gets at most its 1 s), and Jint checks between matches only every 10,000, inside its own
/// functions and in the built-in loops that call one (<c>texts.map(RegExp.prototype.exec, re)</c>). So the
/// <c>exec</c> scripts see checks before it matches, whether a statement or a built-in calls it: Jint takes it for its
/// own, which keeps its fast paths. <c>test</c>, <c>search</c> and each step of a <c>matchAll</c> iterator check
/// before they match. Each <c>split</c>, <c>match</c> or <c>replace</c> first counts its matches with
/// <see cref="Regex.Count(string)"/>, whose limit covers all matches at once: when the count ends in time, Jint's own
/// fast call repeats that work; when it does not, the call runs on Jint's general path, which calls the checked
/// <c>exec</c> before each match.
/// </summary>
internal sealed class RegExpChecks
{
    // Subject characters on which Jint leaves .NET's engine for its own in ignore-case matching (JsRegExp).
    private static readonly SearchValues<char> CaseFoldingTriggers = SearchValues.Create("İıſK");

    private readonly Engine _engine;
    private readonly CancellationToken _cancellation;
    private readonly ObjectInstance _prototype;
    private readonly Func<JsValue, JsValue[], JsValue> _builtInExec;

    private RegExpChecks(Engine engine, CancellationToken cancellation)
    {
        _engine = engine;
        _cancellation = cancellation;
        _prototype = engine.Intrinsics.RegExp.Get("prototype").AsObject();
        _builtInExec = RecognisedExec(_prototype);
        Func<JsValue, JsValue[], JsValue> checkedExec = (thisObject, arguments) =>
        {
            _cancellation.ThrowIfCancellationRequested();
            return _builtInExec(thisObject, arguments);
        };
        // Scripts see only the checked exec, which Jint then takes for its own: its fast paths stay.
        _prototype.Set("exec", new ClrFunction(engine, "exec", checkedExec, 1, PropertyFlag.Configurable));
        RecognisedExec(_prototype) = checkedExec;
    }

    /// <summary>Gives the engine regular expression functions that observe <paramref name="cancellation"/>.</summary>
    public static void Install(Engine engine, CancellationToken cancellation)
    {
        var checks = new RegExpChecks(engine, cancellation);
        checks.CountFirst(GlobalSymbolRegistry.Split, "[Symbol.split]", 2);
        checks.CountFirst(GlobalSymbolRegistry.Match, "[Symbol.match]", 1);
        checks.CountFirst(GlobalSymbolRegistry.Replace, "[Symbol.replace]", 2);
        checks.CheckFirst(checks._prototype, "test", "test", 1);
        checks.CheckFirst(checks._prototype, GlobalSymbolRegistry.Search, "[Symbol.search]", 1);
        checks.CheckEachStep();
    }

    private void CheckFirst(ObjectInstance owner, JsValue key, string name, int length) =>
        owner.Set(key, Checked(name, length, owner.Get(key)));

    private ClrFunction Checked(string name, int length, JsValue original) =>
        new(_engine, name, (thisObject, arguments) =>
        {
            _cancellation.ThrowIfCancellationRequested();
            return _engine.Call(original, thisObject, arguments);
        }, length, PropertyFlag.Configurable);

    // Jint steps its own matchAll iterators without looking their next up; an object of the same prototype whose own
    // next checks first is stepped through that next.
    private void CheckEachStep()
    {
        var key = GlobalSymbolRegistry.MatchAll;
        var original = _prototype.Get(key);
        _prototype.Set(key, new ClrFunction(_engine, "[Symbol.matchAll]", (thisObject, arguments) =>
        {
            _cancellation.ThrowIfCancellationRequested();
            var matches = _engine.Call(original, thisObject, arguments).AsObject();
            var next = matches.Get("next");
            var steps = new JsObject(_engine) { Prototype = matches.Prototype };
            var checkedNext = new ClrFunction(_engine, "next", (_, _) =>
            {
                _cancellation.ThrowIfCancellationRequested();
                return _engine.Call(next, matches, []);
            }, 0, PropertyFlag.Configurable);
            steps.DefineOwnProperty("next", new PropertyDescriptor(checkedNext, PropertyFlag.NonEnumerable));
            return steps;
        }, 1, PropertyFlag.Configurable));
    }

    private void CountFirst(JsSymbol key, string name, int length)
    {
        var original = _prototype.Get(key);
        _prototype.Set(key, new ClrFunction(_engine, name, (thisObject, arguments) =>
        {
            _cancellation.ThrowIfCancellationRequested();
            if (thisObject is not JsRegExp { ParseResult.ConversionResult: Regex regex } pattern)
            {
                return CallChecked(original, thisObject, arguments);
            }

            // The text once, as Jint would take it, so that its toString runs only once.
            var passed = arguments.Length == 0 ? new JsValue[1] : (JsValue[])arguments.Clone();
            var text = TypeConverter.ToString(arguments.Length == 0 ? JsValue.Undefined : arguments[0]);
            passed[0] = text;
            if ((pattern.IgnoreCase && text.AsSpan().ContainsAny(CaseFoldingTriggers)) || !CountsInTime(regex, text))
            {
                return CallChecked(original, thisObject, passed);
            }

            // The count took as long as Jint's own matching will: a cancellation during the count ends the call here.
            _cancellation.ThrowIfCancellationRequested();
            return _engine.Call(original, thisObject, passed);
        }, length, PropertyFlag.Configurable));
    }

    private static bool CountsInTime(Regex regex, string text)
    {
        try
        {
            regex.Count(text);
            return true;
        }
        catch (RegexMatchTimeoutException)
        {
            return false;
        }
    }

    /// <summary>Calls a function on Jint's general path, which calls the checked <c>exec</c> before each match.
    /// </summary>
    private JsValue CallChecked(JsValue function, JsValue thisObject, JsValue[] arguments)
    {
        // While Jint recognises an exec that no function wraps, it takes none of its fast paths.
        var recognised = RecognisedExec(_prototype);
        RecognisedExec(_prototype) = _builtInExec;
        try
        {
            return _engine.Call(function, thisObject, arguments);
        }
        finally
        {
            RecognisedExec(_prototype) = recognised;
        }
    }

    // The delegate by which Jint 4.18 recognises its own exec (RegExpPrototype.HasDefaultExec): while the prototype's
    // exec wraps it, Jint matches without looking exec up, in one .NET call or a loop that checks every 10,000 matches.
    // A Jint without this field fails every script call with MissingFieldException, which the tests catch.
    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_defaultExec")]
    private static extern ref Func<JsValue, JsValue[], JsValue> RecognisedExec(
        [UnsafeAccessorType("Jint.Native.RegExp.RegExpPrototype, Jint")] object prototype);
}
