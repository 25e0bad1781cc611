package main

import (
	"flag"
	"fmt"

	"switchyard/connector/jirasim"
)

// dcFlags are the jirasim flags that make a Data Center simulator answer like
// a real Data Center site (see jirasim.DCOptions).
type dcFlags struct {
	contextPath  *string
	pickerLimit  *int
	levelMembers *bool
	userList     *bool
	userSearch   *int
	extraGroups  *int
}

func addDCFlags(fs *flag.FlagSet) dcFlags {
	return dcFlags{
		contextPath:  fs.String("context-path", "", "datacenter: serve under this path, e.g. /jira (the site URL is then http://ADDR/jira)"),
		pickerLimit:  fs.Int("picker-limit", jirasim.DefaultPickerLimit, "datacenter: most groups one groups/picker answer holds (Jira's jira.ajax.autocomplete.limit); -1 = no cap"),
		levelMembers: fs.Bool("level-members-endpoint", false, "datacenter: also serve /rest/api/2/issuesecurityschemes/{id}/members, which the Data Center reference does not list"),
		userList:     fs.Bool("user-list-endpoint", false, "datacenter: serve /rest/api/2/user/list (cursor-paged), as Data Center 10.3+ does"),
		userSearch:   fs.Int("user-search-limit", 1000, "datacenter: most users one user/search answer holds (Data Center 9: 1000, 10: 100)"),
		extraGroups:  fs.Int("extra-groups", 0, "groups to generate beside the nine built-in ones (dept-001, …), e.g. more than a picker page"),
	}
}

// apply validates the flags into o; each error names the flag and the value.
func (f dcFlags) apply(o *jirasim.Options) error {
	if err := jirasim.ValidContextPath(*f.contextPath); err != nil {
		return fmt.Errorf("--context-path: %w", err)
	}
	if *f.pickerLimit == 0 || *f.pickerLimit < -1 || *f.pickerLimit > 100000 {
		return fmt.Errorf("--picker-limit %d: must be between 1 and 100000, or -1 for no cap", *f.pickerLimit)
	}
	if *f.userSearch < 1 || *f.userSearch > 1000 {
		return fmt.Errorf("--user-search-limit %d: must be between 1 and 1000", *f.userSearch)
	}
	if *f.extraGroups < 0 || *f.extraGroups > 100000 {
		return fmt.Errorf("--extra-groups %d: must be between 0 and 100000", *f.extraGroups)
	}
	o.DataCenter = jirasim.DCOptions{ContextPath: *f.contextPath, PickerLimit: *f.pickerLimit, LevelMembersEndpoint: *f.levelMembers,
		UserListEndpoint: *f.userList, UserSearchLimit: *f.userSearch}
	o.ExtraGroups = *f.extraGroups
	return nil
}
