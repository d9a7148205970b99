package hcl

import (
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// functions returns the functions a configuration may call. hostname() and
// env() let one templated file serve both directors, for example
// priority = hostname() == "lb1" ? 150 : 100.
func functions(l *Loader) map[string]function.Function {
	return map[string]function.Function{
		"hostname": function.New(&function.Spec{
			Type: function.StaticReturnType(cty.String),
			Impl: func(_ []cty.Value, _ cty.Type) (cty.Value, error) {
				h, err := l.hostname()
				if err != nil {
					return cty.NilVal, err
				}
				return cty.StringVal(h), nil
			},
		}),
		// env("NAME") is the variable's value, or "" when unset;
		// env("NAME", "default") gives the default when unset.
		"env": function.New(&function.Spec{
			Params:   []function.Parameter{{Name: "name", Type: cty.String}},
			VarParam: &function.Parameter{Name: "default", Type: cty.String},
			Type:     function.StaticReturnType(cty.String),
			Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
				if v, ok := l.lookupEnv(args[0].AsString()); ok {
					return cty.StringVal(v), nil
				}
				if len(args) > 1 {
					return args[1], nil
				}
				return cty.StringVal(""), nil
			},
		}),
		"format":   stdlib.FormatFunc,
		"join":     stdlib.JoinFunc,
		"split":    stdlib.SplitFunc,
		"lower":    stdlib.LowerFunc,
		"upper":    stdlib.UpperFunc,
		"concat":   stdlib.ConcatFunc,
		"contains": stdlib.ContainsFunc,
		"coalesce": stdlib.CoalesceFunc,
		"min":      stdlib.MinFunc,
		"max":      stdlib.MaxFunc,
	}
}
