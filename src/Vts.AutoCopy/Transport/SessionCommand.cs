using Renci.SshNet;

namespace Vts.AutoCopy.Transport;

/// <summary>A command that runs at the target for a whole session, fed on its standard input and answering on its
/// standard output a line at a time. A remote command costs a channel and the user's shell start-up (over half a
/// second on some systems; 0.8–1.2 s of CPU here, where root's shell initialises pyenv), so the remote hasher and the
/// hashing receiver are each started once per session rather than once per tape.</summary>
internal sealed class SessionCommand : IDisposable
{
    private readonly SshCommand _command;

    private SessionCommand(SshCommand command, Task running)
    {
        _command = command;
        Running = running;
        Input = command.CreateInputStream();
    }

    public static SessionCommand Start(SshClient shell, string commandText)
    {
        var command = shell.CreateCommand(commandText);
        var running = command.ExecuteAsync(CancellationToken.None);
        _ = running.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default); // ends with its connection
        return new SessionCommand(command, running);
    }

    public Stream Input { get; }

    public Stream Output => _command.OutputStream;

    /// <summary>Completes when the command has ended (its channel closed).</summary>
    public Task Running { get; }

    public bool IsRunning => !Running.IsCompleted;

    /// <summary>The command's exit status; null until it exits, and for good when only its connection ended.</summary>
    public int? ExitStatus => _command.ExitStatus;

    /// <summary>The next line it printed (see <see cref="TargetWriter.ReadLine"/>). SSH.NET's output stream does not
    /// watch a token while it waits: <paramref name="cancellation"/> closes this command instead, which ends the wait,
    /// and the command with it. Closing a channel waits for the target's confirmation, so that is not done on the
    /// cancelling thread (a tape actor's).</summary>
    public async Task<string?> ReadLine(CancellationToken cancellation, int limit = TargetWriter.MaxLine)
    {
        await using var closing = cancellation.Register(() => Task.Run(Dispose));
        try
        {
            var line = await TargetWriter.ReadLine(Output, CancellationToken.None, limit);
            cancellation.ThrowIfCancellationRequested();
            return line;
        }
        catch (Exception e) when (e is not OperationCanceledException && cancellation.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellation); // closed under the read
        }
    }

    /// <summary>Ends the command. Closing its input sends an EOF, which fails once the connection is gone (cut,
    /// severed by a stall): that is no error here, and a dispose never throws.</summary>
    public void Dispose()
    {
        Quietly(Input.Dispose);
        Quietly(_command.Dispose);
    }

    internal static void Quietly(Action close)
    {
        try
        {
            close();
        }
        catch (Exception e) when (e is Renci.SshNet.Common.SshException or ObjectDisposedException or InvalidOperationException
                                       or System.Net.Sockets.SocketException or IOException)
        {
        }
    }
}
