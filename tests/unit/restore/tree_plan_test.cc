#include "common/restore/tree_plan.h"

#include <gtest/gtest.h>

namespace stasis::restore {
namespace {

// pid, ppid, pgid, sid, subreaper
TaskIds task(pid_t pid, pid_t ppid, pid_t pgid, pid_t sid, bool subreaper = false) {
    return TaskIds{pid, ppid, pgid, sid, subreaper};
}

constexpr Maker kRoot{false, 0};

TEST(TreePlan, ChildrenInTheirParentsOrOwnSessionAndGroupNeedNoHelper) {
    auto plan = plan_tree({task(100, 1, 100, 100), task(101, 100, 100, 100), task(102, 100, 102, 100),
                           task(103, 100, 103, 103), task(104, 103, 103, 103), task(105, 100, 102, 100)});
    ASSERT_TRUE(plan.ok()) << plan.error().message();
    EXPECT_TRUE(plan->helpers.empty());
    for (size_t i = 1; i < 4; ++i) EXPECT_EQ(plan->task_maker[i], kRoot);
    EXPECT_EQ(plan->task_maker[4], (Maker{false, 3}));
    EXPECT_EQ(plan->born_sid[4], 103);
}

TEST(TreePlan, OrphanOfAnExitedSessionLeaderIsMadeByAHelperUnderTheSubreaper) {
    // 200 led session 200 and exited; 201 and 202 went to the root.
    auto plan = plan_tree({task(100, 1, 100, 100, true), task(201, 100, 200, 200), task(202, 100, 202, 200),
                           task(203, 202, 202, 200)});
    ASSERT_TRUE(plan.ok()) << plan.error().message();
    ASSERT_EQ(plan->helpers.size(), 1u);
    const Helper &h = plan->helpers[0];
    EXPECT_EQ(h.pid, 200);
    EXPECT_TRUE(h.session);
    EXPECT_EQ(h.maker, kRoot);
    EXPECT_EQ(h.first_member, 1u);
    EXPECT_EQ(plan->task_maker[1], (Maker{true, 0}));
    EXPECT_EQ(plan->task_maker[2], (Maker{true, 0}));
    EXPECT_EQ(plan->task_maker[3], (Maker{false, 2}));  // its own parent's child, as ever
    EXPECT_EQ(plan->born_pgid[1], 200);
    EXPECT_EQ(plan->helper_to_fork(kRoot, 1), 0u);
    EXPECT_EQ(plan->helper_to_fork(kRoot, 2), 0u);
    EXPECT_FALSE(plan->helper_to_fork(kRoot, 3));
    EXPECT_FALSE(plan->helper_to_fork(Maker{true, 0}, 1));
    EXPECT_TRUE(plan->makes(Maker{true, 0}, 1));
}

TEST(TreePlan, ExitedGroupLeaderInsideAnExitedSessionNestsTwoHelpers) {
    auto plan = plan_tree({task(100, 1, 100, 100, true), task(301, 100, 300, 200)});
    ASSERT_TRUE(plan.ok()) << plan.error().message();
    ASSERT_EQ(plan->helpers.size(), 2u);
    EXPECT_EQ(plan->helpers[0].pid, 200);
    EXPECT_TRUE(plan->helpers[0].session);
    EXPECT_EQ(plan->helpers[1].pid, 300);
    EXPECT_FALSE(plan->helpers[1].session);
    EXPECT_EQ(plan->helpers[1].maker, (Maker{true, 0}));
    EXPECT_EQ(plan->task_maker[1], (Maker{true, 1}));
    // The root forks the outer helper; that one forks the inner one.
    EXPECT_EQ(plan->helper_to_fork(kRoot, 1), 0u);
    EXPECT_EQ(plan->helper_to_fork(Maker{true, 0}, 1), 1u);
    EXPECT_EQ(plan->born_sid[1], 200);
    EXPECT_EQ(plan->born_pgid[1], 300);
}

TEST(TreePlan, ExitedGroupLeaderInTheRootsSessionNeedsAGroupHelper) {
    auto plan = plan_tree({task(100, 1, 100, 100, true), task(401, 100, 400, 100), task(402, 100, 400, 100)});
    ASSERT_TRUE(plan.ok()) << plan.error().message();
    ASSERT_EQ(plan->helpers.size(), 1u);
    EXPECT_FALSE(plan->helpers[0].session);
    EXPECT_EQ(plan->task_maker[2], (Maker{true, 0}));  // one helper for both
}

TEST(TreePlan, GroupWhoseLeaderIsInTheTreeIsJoinedNotHelped) {
    auto plan = plan_tree({task(100, 1, 100, 100), task(101, 100, 101, 100), task(102, 100, 101, 100)});
    ASSERT_TRUE(plan.ok()) << plan.error().message();
    EXPECT_TRUE(plan->helpers.empty());
}

TEST(TreePlan, RefusesAHelperUnderAParentThatIsNoSubreaper) {
    auto plan = plan_tree({task(100, 1, 100, 100, false), task(201, 100, 200, 200)});
    ASSERT_FALSE(plan.ok());
    EXPECT_NE(plan.error().message().find("process 201 is in session 200"), std::string::npos)
        << plan.error().message();
    EXPECT_NE(plan.error().message().find("no child subreaper"), std::string::npos);
}

TEST(TreePlan, RefusesOneExitedLeaderNeededUnderTwoParents) {
    auto plan = plan_tree({task(100, 1, 100, 100, true), task(101, 100, 101, 100, true), task(201, 100, 200, 200),
                           task(202, 101, 200, 200)});
    ASSERT_FALSE(plan.ok());
    EXPECT_NE(plan.error().message().find("two places"), std::string::npos) << plan.error().message();
}

TEST(TreePlan, RefusesASessionLedInTheTreeButNotInherited) {
    auto plan = plan_tree({task(100, 1, 100, 100, true), task(101, 100, 101, 101), task(102, 100, 101, 101)});
    ASSERT_FALSE(plan.ok());
    EXPECT_NE(plan.error().message().find("process 102 is in session 101"), std::string::npos)
        << plan.error().message();
}

TEST(TreePlan, RefusesATaskWhoseParentIsMissing) {
    auto plan = plan_tree({task(100, 1, 100, 100), task(102, 101, 100, 100)});
    ASSERT_FALSE(plan.ok());
    EXPECT_NE(plan.error().message().find("its parent 101"), std::string::npos) << plan.error().message();
}

}  // namespace
}  // namespace stasis::restore
