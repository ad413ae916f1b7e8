using Akka.Actor;
using Akka.Persistence;
using Vts.AutoCopy.EventLog;
using Vts.AutoCopy.Serialization;

namespace Vts.AutoCopy.Licensing;

/// <summary><c>vts.license</c>: a key from the configuration (installed at start when it is not the one journaled), and
/// whether a cluster without a key may copy for its first <see cref="LicenseBook.Evaluation"/>.</summary>
public sealed record LicenseSettings(string? Key, bool Evaluation)
{
    public static readonly LicenseSettings Default = new(null, true);
}

/// <summary>Journaled once, at a cluster's first start: its site id and when the evaluation began.</summary>
public sealed record SiteEstablished(string Site, DateTimeOffset FirstStart);

/// <summary>Journaled: a valid key installed (the key's text; its terms are read from it again on recovery).</summary>
public sealed record LicenseInstalled(string Key, DateTimeOffset At);

/// <summary>R12's expiry warnings: 30, 7 and 1 days before a key expires, once each.</summary>
public static class ExpiryWarnings
{
    public static readonly IReadOnlyList<int> Days = [30, 7, 1];

    /// <summary>The warning due with <paramref name="daysLeft"/> days left, if not given yet: the most urgent threshold
    /// reached. A day the cluster was down, or a key installed with fewer days left than a threshold, does not lose it;
    /// thresholds passed together give only the most urgent (a key installed with 5 days left warns of 7, and of 1
    /// when that day comes), since a warning of 30 days with 5 left says less than the one of 7.</summary>
    public static int? Due(int daysLeft, Func<int, bool> given)
    {
        var reached = Days.Where(d => daysLeft <= d).DefaultIfEmpty().Min();
        return reached == 0 || given(reached) ? null : reached;
    }
}

/// <summary>Installs a key for the whole cluster (<c>vtsctl license install</c>); answered with <see cref="LicenseInstallAnswer"/>.</summary>
public sealed record InstallLicense(string Key) : IClusterMessage;

public sealed record LicenseInstallAnswer(bool Installed, string Detail) : IClusterMessage;

/// <summary>Asks the transfer gate for the license as it holds it; answered with <see cref="LicenseState"/>.</summary>
public sealed record GetLicense : IClusterMessage;

/// <param name="CopiesAllowed">false: copies are held (R12) for <paramref name="Detail"/>.</param>
/// <param name="Held">copies waiting at the gate while they are held.</param>
public sealed record LicenseState(string Site, bool CopiesAllowed, string State, string Detail, string? Holder, IReadOnlyList<string> Features,
    DateOnly? Expires, DateOnly? EvaluationUntil, int Held = 0) : IClusterMessage
{
    /// <summary>Until the license book has recovered: held, so that a node never copies before it knows it may.</summary>
    public static readonly LicenseState Unknown = new("", false, "unknown", "the license is being read from the journal", null, [], null, null);

    /// <summary>Why due copies do not start anywhere in the cluster, as every view says it; null while they may.</summary>
    public static string? HeldBecause(LicenseState state) =>
        state.CopiesAllowed ? null : $"held for want of a license (R12): {state.Detail}";
}

/// <summary>R12's book: the site id (journaled at the cluster's first start), the installed key, and whether copies may
/// run now: a valid key for AutoCopy, or the evaluation's first 30 days. The transfer gate's child, so it is one for the
/// cluster and moves with the gate; it tells the gate the state at recovery, on every install and whenever the day's
/// date changes it (an expiry, the evaluation's end), and says so in the event log: an installed key, the evaluation's
/// days (once a day), a key's expiry 30, 7 and 1 days ahead (<see cref="ExpiryWarnings"/>). The gate tells of held copies, once per pool and day.</summary>
public sealed class LicenseBook : ReceivePersistentActor, IWithTimers
{
    public const string PersistenceIdValue = "license";

    public static readonly TimeSpan Evaluation = TimeSpan.FromDays(30);

    /// <summary>The state is looked at again this often: days change, keys expire. A running cluster holds copies from
    /// the first look after its key's (or its evaluation's) end, and logs an evaluation day at the first look of the day.</summary>
    public static readonly TimeSpan LookAgain = TimeSpan.FromMinutes(10);

    private sealed record Look : INoSerializationVerificationNeeded;

    private readonly IActorRef _gate;
    private readonly LicenseSettings _settings;
    private readonly IActorRef? _eventLog;
    private readonly string _node;
    private readonly TimeProvider _clock;
    private SiteEstablished? _site;
    private string? _key;
    /// <summary>Every key ever installed: a key in the configuration is installed once, never again over a later one.</summary>
    private readonly HashSet<string> _installed = [];
    private LicenseState? _told;
    private readonly HashSet<(DateOnly Expires, int Days)> _warned = [];

    public override string PersistenceId => PersistenceIdValue;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IActorRef gate, LicenseSettings settings, IActorRef? eventLog, string node, TimeProvider clock) =>
        Akka.Actor.Props.Create(() => new LicenseBook(gate, settings, eventLog, node, clock));

    public LicenseBook(IActorRef gate, LicenseSettings settings, IActorRef? eventLog, string node, TimeProvider clock)
    {
        _gate = gate;
        _settings = settings;
        _eventLog = eventLog;
        _node = node;
        _clock = clock;
        Recover<SiteEstablished>(e => _site = e);
        Recover<LicenseInstalled>(e =>
        {
            _key = e.Key;
            _installed.Add(e.Key.Trim());
        });
        Recover<RecoveryCompleted>(_ => Started());
        Command<InstallLicense>(i => { Install(i.Key, Sender); });
        Command<Look>(_ => Tell());
        Command<EntryLogged>(_ => { }); // the event log's answer to a keyed entry: nothing more to do
    }

    private DateOnly Today => DateOnly.FromDateTime(_clock.GetUtcNow().UtcDateTime);

    private void Started()
    {
        if (_site is not null)
        {
            Open();
            return;
        }
        Persist(new SiteEstablished(LicenseKey.NewSiteId(), _clock.GetUtcNow()), e =>
        {
            _site = e;
            Open();
        });
    }

    private void Open()
    {
        // Once installed, the configured key has had its turn: a key installed later with vtsctl is not replaced by it
        // at the next start or move of the gate.
        var installing = _settings.Key is { } configured && !_installed.Contains(configured.Trim())
                         && Install(configured, ActorRefs.Nobody, fromConfiguration: true);
        if (!installing) Tell(); // else told once the install is journaled, never "held" for a moment before it
        Timers.StartPeriodicTimer("look", new Look(), LookAgain);
    }

    /// <returns>whether a valid key is being journaled (the gate is told once it is).</returns>
    private bool Install(string key, IActorRef asker, bool fromConfiguration = false)
    {
        var site = _site!.Site;
        switch (LicenseKey.Verify(key, site, Today))
        {
            case LicenseCheck.Refused refused:
                asker.Tell(new LicenseInstallAnswer(false, $"license key refused: {refused.Reason}"));
                if (fromConfiguration)
                    Report(Severity.Warning, MessageIds.LicenseRefused, $"the license key in vts.license.key is refused: {refused.Reason}", key: null);
                return false;
            case LicenseCheck.Valid valid:
                Persist(new LicenseInstalled(key.Trim(), _clock.GetUtcNow()), e =>
                {
                    _key = e.Key;
                    _installed.Add(e.Key);
                    var terms = valid.Terms;
                    asker.Tell(new LicenseInstallAnswer(true,
                        $"license installed for the whole cluster: {terms.Holder}, site {terms.Site}, {string.Join(", ", terms.Features)}, until {terms.Expires:yyyy-MM-dd}"));
                    Report(Severity.Info, MessageIds.LicenseInstalled,
                        $"license installed: {terms.Holder}, {string.Join(", ", terms.Features)}, valid through {terms.Expires:yyyy-MM-dd}", key: null);
                    Tell();
                });
                return true;
            default:
                return false;
        }
    }

    /// <summary>The state now, told to the gate when it changed, with the day's event-log notices.</summary>
    private void Tell()
    {
        var now = State();
        // Records compare lists by reference: the features are compared by content.
        if (_told is null || now with { Features = _told.Features } != _told || !now.Features.SequenceEqual(_told.Features)) _gate.Tell(now);
        _told = now;
        var today = Today;
        if (now.Expires is { } expires && expires.DayNumber - today.DayNumber is var left
            && ExpiryWarnings.Due(left, days => _warned.Contains((expires, days))) is { } due)
        {
            _warned.Add((expires, due));
            // Once each: the event log journals the keys it has logged and never logs one twice, so a restart, or the
            // book moving to another node, that finds the same threshold due again says nothing new (and nothing new
            // is journaled here, which a node of an earlier build in a cluster being upgraded could not read).
            Report(Severity.Warning, MessageIds.LicenseExpiring,
                $"the license key expires in {left} day{(left == 1 ? "" : "s")}, after {expires:yyyy-MM-dd}; copies are held from then on",
                key: $"license-expiring-{expires:yyyyMMdd}-{due}");
        }
        if (now.EvaluationUntil is { } until)
            Report(Severity.Info, MessageIds.LicenseEvaluation, $"AutoCopy runs in evaluation, without a license key, until {until:yyyy-MM-dd}; site id {now.Site}",
                key: $"license-evaluation-{today:yyyyMMdd}");
    }

    private LicenseState State()
    {
        var site = _site!;
        if (_key is not null)
        {
            switch (LicenseKey.Verify(_key, site.Site, Today))
            {
                case LicenseCheck.Valid { Terms: var terms }:
                    return new LicenseState(site.Site, true, "licensed", $"{terms.Holder}, valid through {terms.Expires:yyyy-MM-dd}",
                        terms.Holder, terms.Features, terms.Expires, null);
                case LicenseCheck.Refused refused:
                    return new LicenseState(site.Site, false, "held", $"the installed license key is no longer valid ({refused.Reason})", null, [], null, null);
            }
        }
        var evaluationEnds = site.FirstStart + Evaluation;
        if (_settings.Evaluation && _clock.GetUtcNow() < evaluationEnds)
            return new LicenseState(site.Site, true, "evaluation", $"no license key; evaluation until {evaluationEnds:yyyy-MM-dd}", null, [], null,
                DateOnly.FromDateTime(evaluationEnds.UtcDateTime));
        return new LicenseState(site.Site, false, "held", _settings.Evaluation
            ? $"no license key installed, and the evaluation ended on {evaluationEnds:yyyy-MM-dd}"
            : "no license key installed (vts.license.evaluation = off)", null, [], null, null);
    }

    private void Report(Severity severity, int id, string text, string? key) =>
        _eventLog?.Tell(new EventLogEntry(_clock.GetUtcNow(), severity, id, _node, null, null, text, key));
}
