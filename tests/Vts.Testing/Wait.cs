using System.Diagnostics;

namespace Vts.Testing;

public static class Wait
{
    /// <summary>Polls until the condition holds, failing with what was awaited once the deadline passes.</summary>
    public static Task Until(Func<bool> condition, TimeSpan timeout, string what) => Until(condition, timeout, () => what);

    /// <param name="what">said when the deadline passes, as things stand then.</param>
    public static Task Until(Func<bool> condition, TimeSpan timeout, Func<string> what) =>
        Until(() => Task.FromResult(condition()), timeout, what);

    /// <summary>As <see cref="Until(Func{bool}, TimeSpan, string)"/>, for a condition that has to ask something.</summary>
    public static Task Until(Func<Task<bool>> condition, TimeSpan timeout, string what) => Until(condition, timeout, () => what);

    /// <param name="what">said when the deadline passes, as things stand then.</param>
    public static async Task Until(Func<Task<bool>> condition, TimeSpan timeout, Func<string> what)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            if (deadline.Elapsed > timeout) throw new TimeoutException($"not within {timeout}: {what()}");
            await Task.Delay(50);
        }
    }
}
