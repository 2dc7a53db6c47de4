package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// operatorCmd names who runs the fleet: operators see every store's queues
// and tasks in the operator console (app.<domain>/ops/queues).
func operatorCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "operator", Short: "List, add and remove the accounts that run the fleet (the operator console)"}
	set := func(use, short string, on bool) *cobra.Command {
		return &cobra.Command{
			Use:   use + " <email>",
			Short: short,
			Args:  cobra.ExactArgs(1),
			RunE: withDeps(getenv, stderr, func(ctx context.Context, d *deps, args []string) error {
				a, err := d.db.AccountByEmail(ctx, args[0])
				if err != nil {
					return describe(err)
				}
				if err := d.db.SetOperator(ctx, a.ID, on); err != nil {
					return describe(err)
				}
				if on {
					fmt.Fprintf(stdout, "%s is an operator\n", a.Email)
				} else {
					fmt.Fprintf(stdout, "%s is no longer an operator\n", a.Email)
				}
				return nil
			}),
		}
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the operators",
		Args:  cobra.NoArgs,
		RunE: withDeps(getenv, stderr, func(ctx context.Context, d *deps, _ []string) error {
			ops, err := d.db.Operators(ctx)
			if err != nil {
				return err
			}
			for _, a := range ops {
				fmt.Fprintln(stdout, a.Email)
			}
			return nil
		}),
	}
	cmd.AddCommand(list, set("add", "Make an account an operator", true), set("remove", "Make an account no longer an operator", false))
	return cmd
}
