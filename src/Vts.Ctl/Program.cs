using Vts.Ctl.Cli;

return await VtsCtlApp.RunAsync(args);
